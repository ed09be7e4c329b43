"""What a patient reads when a card payment fails, from Stripe's codes (never Stripe's own text).

Stripe's `last_payment_error.message` is written for developers ("The provided PaymentMethod has
failed authentication. You can provide payment_method_data…"); it is kept for staff. The patient
reads plain words chosen from `decline_code` (the bank's reason) or else `code`. As Stripe
advises, a card reported lost or stolen or suspected of fraud reads as a plain decline.
See https://docs.stripe.com/declines/codes and https://docs.stripe.com/error-codes.
"""

from __future__ import annotations

DECLINED = "Your card was declined. Please use another card, or contact your bank."
NOT_CONFIRMED = (
    "Your bank asked you to confirm this payment and it was not confirmed. Please try again and complete "
    "your bank's check, or use another card."
)
LIMIT = "Your card has reached its spending limit. Please use another card, or contact your bank."
TRY_AGAIN = "Your bank could not take the payment just now. Please try again in a few minutes."
UNKNOWN = "Your card payment did not go through. Please try again, or use another card."

_WORDS = {
    "authentication_required": NOT_CONFIRMED,
    "payment_intent_authentication_failure": NOT_CONFIRMED,
    "insufficient_funds": "Your card was declined: there is not enough money available on it. Please use another card.",
    "card_velocity_exceeded": LIMIT,
    "withdrawal_count_limit_exceeded": LIMIT,
    "expired_card": "Your card has expired. Please use another card.",
    "incorrect_cvc": "The security code (CVC) does not match your card. Please check it and try again.",
    "invalid_cvc": "The security code (CVC) does not match your card. Please check it and try again.",
    "incorrect_number": "The card number is not right. Please check it and try again.",
    "invalid_number": "The card number is not right. Please check it and try again.",
    "invalid_expiry_month": "The card's expiry date is not right. Please check it and try again.",
    "invalid_expiry_year": "The card's expiry date is not right. Please check it and try again.",
    "incorrect_zip": "The postcode does not match your card. Please check it and try again.",
    "card_not_supported": "This card cannot be used for this payment. Please use another card.",
    "currency_not_supported": "This card cannot be used for this payment. Please use another card.",
    "processing_error": (
        "Something went wrong while your card was being charged, and you have not been charged. Please try again."
    ),
    "try_again_later": TRY_AGAIN,
    "issuer_not_available": TRY_AGAIN,
    "reenter_transaction": TRY_AGAIN,
    "testmode_decline": "This card cannot be used here. Please use another card.",
    "test_mode_live_card": "This card cannot be used here. Please use another card.",
    # Lost, stolen, fraud and the bank's unexplained refusals: a plain decline, nothing more.
    "generic_decline": DECLINED,
    "do_not_honor": DECLINED,
    "lost_card": DECLINED,
    "stolen_card": DECLINED,
    "fraudulent": DECLINED,
    "pickup_card": DECLINED,
    "restricted_card": DECLINED,
    "card_declined": DECLINED,
}


def card_failure_words(error: dict) -> str:
    """Plain words for a PaymentIntent's `last_payment_error` (or a charge's failure facts)."""
    for code in (error.get("decline_code"), error.get("code")):
        if code in _WORDS:
            return _WORDS[code]
    return UNKNOWN


def card_failure_detail(error: dict) -> str:
    """Stripe's own account of the failure, codes first, for staff."""
    codes = " / ".join(filter(None, (error.get("code"), error.get("decline_code")))) or "no code"
    return f"{codes}: {error.get('message') or 'no message'}"
