"""Card form validation and Stripe's test card numbers.

Validation happens in the browser at Stripe (nothing reaches the API, no event); the stand-in
does it on the server so the pay page works without JavaScript. Messages are Stripe Checkout's.
"""

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

AUTHENTICATE = "authenticate"
SUCCEED = "succeed"


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str


GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")
LIVE_CARD_IN_TEST_MODE = Decline(
    "card_declined",
    "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test (live) card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
)

# https://docs.stripe.com/testing — the numbers a tester is likely to type.
TEST_CARDS: dict[str, str | Decline] = {
    "4242424242424242": SUCCEED,
    "4000056655665556": SUCCEED,
    "5555555555554444": SUCCEED,
    "378282246310005": SUCCEED,
    "4000000000000002": GENERIC_DECLINE,
    "4000000000009995": Decline("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": Decline("card_declined", "lost_card", "Your card was declined."),
    "4000000000009979": Decline("card_declined", "stolen_card", "Your card was declined."),
    "4000000000000119": Decline(
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "4000000000000069": Decline("expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    "4000002500003155": AUTHENTICATE,
    "4000002760003184": AUTHENTICATE,
}

# Shown on the pay page so a tester knows what to type.
HINTS = (
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0002", "is declined"),
    ("4000 0025 0000 3155", "asks for authentication"),
)


@dataclass(frozen=True)
class Card:
    number: str
    exp_month: int
    exp_year: int
    cvc: str
    name: str

    @property
    def brand(self) -> str:
        return brand_of(self.number)

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.number.encode()).hexdigest()[:16]

    @property
    def funding(self) -> str:
        return "debit" if self.number == "4000056655665556" else "credit"

    @property
    def behaviour(self) -> str | Decline:
        # Any other well-formed number is a real card: Stripe's test mode declines it.
        return TEST_CARDS.get(self.number, LIVE_CARD_IN_TEST_MODE)


def brand_of(number: str) -> str:
    if number.startswith(("34", "37")):
        return "amex"
    if number.startswith("4"):
        return "visa"
    if re.match(r"^(5[1-5]|2[2-7])", number):
        return "mastercard"
    if number.startswith(("6011", "65")):
        return "discover"
    return "unknown"


def luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def validate_card(
    *, number: str, expiry: str, cvc: str, name: str, today: dt.date
) -> tuple[Card | None, dict[str, str]]:
    """Return the card, or field name -> error message for each field a card form would reject."""
    errors: dict[str, str] = {}
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits:
        errors["number"] = "Your card number is incomplete."
    elif not digits.isdigit() or len(digits) > 19:
        errors["number"] = "Your card number is invalid."
    elif len(digits) < (15 if brand_of(digits) == "amex" else 16):
        errors["number"] = "Your card number is incomplete."
    elif not luhn_ok(digits):
        errors["number"] = "Your card number is invalid."

    month = year = 0
    match = re.match(r"^\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*$", expiry or "")
    if not (expiry or "").strip() or not match:
        errors["expiry"] = "Your card's expiration date is incomplete."
    else:
        month, year = int(match.group(1)), int(match.group(2))
        year = 2000 + year if year < 100 else year
        if not 1 <= month <= 12:
            errors["expiry"] = "Your card's expiration date is invalid."
        elif year < today.year:
            errors["expiry"] = "Your card's expiration year is in the past."
        elif (year, month) < (today.year, today.month):
            errors["expiry"] = "Your card's expiration date is in the past."
        elif year > today.year + 50:
            errors["expiry"] = "Your card's expiration year is invalid."

    cvc = (cvc or "").strip()
    wanted = 4 if brand_of(digits) == "amex" else 3
    if not cvc:
        errors["cvc"] = "Your card's security code is incomplete."
    elif not cvc.isdigit() or len(cvc) > wanted:
        errors["cvc"] = "Your card's security code is invalid."
    elif len(cvc) < wanted:
        errors["cvc"] = "Your card's security code is incomplete."

    name = (name or "").strip()
    if not name:
        errors["name"] = "Enter the name on the card."

    if errors:
        return None, errors
    return Card(number=digits, exp_month=month, exp_year=year, cvc=cvc, name=name), {}
