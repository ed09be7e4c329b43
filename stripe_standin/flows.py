"""What happens in Stripe when money moves: payments, expiry, refunds, disputes, and their events.

Callers validate first and then call one of these inside `state.action(...)`; each function only
changes state that is already known to be allowed, and emits the events Stripe would, in
Stripe's order.
"""

from . import objects
from .cards import AUTHENTICATE, SUCCEED, Card, Decline
from .errors import StripeError
from .store import State

DOC_URL = "https://stripe.com/docs/error-codes/"
AUTHENTICATION_FAILED = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new "
    "PaymentMethod to attempt to fulfill this PaymentIntent again."
)


# -- Checkout Sessions -----------------------------------------------------------------------


def session_email(state: State, session: dict) -> str | None:
    if session["customer"]:
        customer = state.find(session["customer"], "customer")
        if customer and customer["email"]:
            return customer["email"]
    if session["customer_details"] and session["customer_details"]["email"]:
        return session["customer_details"]["email"]
    return session["customer_email"]


def still_open(state: State, session: dict) -> bool:
    """Whether a payment may start now; a session found past its expires_at is expired on the spot."""
    if session["status"] == "open" and state.clock.now() >= session["expires_at"]:
        expire_session(state, session)
    return session["status"] == "open"


def expire_session(state: State, session: dict) -> None:
    session["status"] = "expired"
    session["url"] = None
    intent = state.find(session["payment_intent"] or "", "payment_intent")
    if intent and intent["status"] in ("requires_payment_method", "requires_action", "requires_confirmation"):
        # An abandoned Checkout cancels its PaymentIntent, so a late 3-D Secure step cannot charge.
        intent["status"] = "canceled"
        intent["canceled_at"] = state.clock.now()
        intent["cancellation_reason"] = "abandoned"
        intent["next_action"] = None
        state.emit("payment_intent.canceled", intent)
    state.emit("checkout.session.expired", session)


def expire_due_sessions(state: State) -> list[str]:
    now = state.clock.now()
    due = [s for s in state.newest_first("checkout.session") if s["status"] == "open" and now >= s["expires_at"]]
    for session in reversed(due):  # oldest first, as they fell due
        expire_session(state, session)
    return [s["id"] for s in due]


def _intent_for(state: State, session: dict) -> dict:
    """The session's PaymentIntent, created at the first payment attempt (as Checkout does since 2022-08-01)."""
    if session["payment_intent"]:
        return state.get(session["payment_intent"], "payment_intent")
    data = state.private.get(session["id"], {}).get("payment_intent_data") or {}
    intent = objects.payment_intent(
        state,
        amount=session["amount_total"],
        currency=session["currency"],
        customer_id=session["customer"],
        description=data.get("description"),
        metadata=data.get("metadata") or {},
        payment_method_types=list(session["payment_method_types"]),
    )
    intent["receipt_email"] = data.get("receipt_email")
    state.add(intent)
    session["payment_intent"] = intent["id"]
    state.emit("payment_intent.created", intent)
    return intent


def _complete(state: State, session: dict, *, payment_status: str, name: str | None, email: str | None) -> None:
    session["status"] = "complete"
    session["payment_status"] = payment_status
    session["url"] = None
    session["customer_details"] = objects.customer_details(email=email, name=name)
    session["collected_information"] = {"business_name": None, "individual_name": None, "shipping_details": None}
    state.emit("checkout.session.completed", session)


# -- cards -----------------------------------------------------------------------------------


def pay_with_card(state: State, session: dict, card: Card, *, email: str | None) -> dict:
    """Confirm the session's PaymentIntent with a card; returns the intent (check its status)."""
    intent = _intent_for(state, session)
    email = email or session_email(state, session)
    payment_method = state.add(objects.card_payment_method(state, card=card, email=email))
    behaviour = card.behaviour
    if behaviour == SUCCEED:
        _capture(state, session, intent, payment_method)
    elif behaviour == AUTHENTICATE:
        intent["status"] = "requires_action"
        intent["payment_method"] = payment_method["id"]
        intent["last_payment_error"] = None
        intent["next_action"] = {
            "type": "redirect_to_url",
            "redirect_to_url": {
                "return_url": f"{state.settings.public_url}/pay/{session['id']}",
                "url": f"{state.settings.public_url}/pay/{session['id']}/authenticate",
            },
        }
        state.emit("payment_intent.requires_action", intent)
    else:
        _decline(state, intent, payment_method, behaviour)
    return intent


def authenticate(state: State, session: dict, *, complete: bool) -> dict:
    intent = state.find(session["payment_intent"] or "", "payment_intent")
    if intent is None or intent["status"] != "requires_action":
        raise StripeError(
            "This PaymentIntent is not waiting for authentication.", code="payment_intent_unexpected_state"
        )
    payment_method = state.get(intent["payment_method"], "payment_method")
    intent["next_action"] = None
    if complete:
        _capture(state, session, intent, payment_method)
    else:
        intent["status"] = "requires_payment_method"
        intent["payment_method"] = None
        intent["last_payment_error"] = {
            "code": "payment_intent_authentication_failure",
            "doc_url": DOC_URL + "payment-intent-authentication-failure",
            "message": AUTHENTICATION_FAILED,
            "payment_method": state.snapshot(payment_method),
            "type": "invalid_request_error",
        }
        state.emit("payment_intent.payment_failed", intent)
    return intent


def _capture(state: State, session: dict, intent: dict, payment_method: dict) -> None:
    charge = objects.charge(state, intent=intent, payment_method=payment_method, status="succeeded")
    charge["outcome"] = objects.authorized_outcome()
    _settle(state, charge)
    intent.update(
        status="succeeded",
        amount_received=intent["amount"],
        latest_charge=charge["id"],
        payment_method=payment_method["id"],
        last_payment_error=None,
        next_action=None,
    )
    state.emit("charge.succeeded", charge)
    state.emit("payment_intent.succeeded", intent)
    details = payment_method["billing_details"]
    _complete(state, session, payment_status="paid", name=details["name"], email=details["email"])


def _settle(state: State, charge: dict) -> None:
    """Book the charge's money: a balance transaction, net of Stripe's fee."""
    fee = objects.processing_fee(charge["amount"], charge["currency"])
    txn = objects.balance_transaction(
        state,
        amount=charge["amount"],
        currency=charge["currency"],
        kind="charge",
        source=charge["id"],
        fee=fee,
        description=charge["description"],
    )
    state.add(txn)
    charge["balance_transaction"] = txn["id"]
    if charge["id"] not in state.objects:
        state.add(charge)


def _decline(state: State, intent: dict, payment_method: dict, decline: Decline) -> None:
    charge = objects.charge(state, intent=intent, payment_method=payment_method, status="failed")
    charge.update(
        failure_code=decline.code,
        failure_message=decline.message,
        outcome=objects.declined_outcome(decline.decline_code),
    )
    state.add(charge)
    intent.update(
        status="requires_payment_method",
        latest_charge=charge["id"],
        payment_method=None,  # Stripe detaches a failed method so the next attempt brings its own
        last_payment_error={
            "charge": charge["id"],
            "code": decline.code,
            "decline_code": decline.decline_code,
            "doc_url": DOC_URL + decline.code.replace("_", "-"),
            "message": decline.message,
            "payment_method": state.snapshot(payment_method),
            "type": "card_error",
        },
    )
    state.emit("charge.failed", charge)
    state.emit("payment_intent.payment_failed", intent)


# -- delayed payment methods -----------------------------------------------------------------


def pay_async(state: State, session: dict, *, name: str, email: str | None) -> dict:
    """Pay with a bank debit: Checkout completes at once, unpaid; the money's fate comes later."""
    intent = _intent_for(state, session)
    email = email or session_email(state, session)
    payment_method = state.add(objects.bank_payment_method(state, email=email, name=name))
    charge = objects.charge(state, intent=intent, payment_method=payment_method, status="pending")
    charge.update(captured=True, amount_captured=intent["amount"], outcome=objects.authorized_outcome())
    state.add(charge)
    intent.update(status="processing", payment_method=payment_method["id"], latest_charge=charge["id"])
    state.emit("charge.pending", charge)
    state.emit("payment_intent.processing", intent)
    _complete(state, session, payment_status="unpaid", name=name, email=email)
    return intent


def async_result(state: State, session: dict, *, succeeded: bool) -> dict:
    intent = state.get(session["payment_intent"] or "", "payment_intent", status=400, param="session")
    if session["status"] != "complete" or intent["status"] != "processing":
        raise StripeError(
            f"Checkout Session {session['id']} has no delayed payment in progress.",
            code="payment_intent_unexpected_state",
        )
    charge = state.get(intent["latest_charge"], "charge")
    if succeeded:
        charge.update(status="succeeded", paid=True)
        _settle(state, charge)
        intent.update(status="succeeded", amount_received=intent["amount"])
        session["payment_status"] = "paid"
        state.emit("charge.succeeded", charge)
        state.emit("payment_intent.succeeded", intent)
        state.emit("checkout.session.async_payment_succeeded", session)
    else:
        message = "The customer's account has insufficient funds to cover this payment."
        charge.update(status="failed", paid=False, failure_code="insufficient_funds", failure_message=message)
        payment_method = state.get(intent["payment_method"], "payment_method")
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error={
                "charge": charge["id"],
                "code": "insufficient_funds",
                "doc_url": DOC_URL + "insufficient-funds",
                "message": message,
                "payment_method": state.snapshot(payment_method),
                "type": "invalid_request_error",
            },
        )
        state.emit("charge.failed", charge)
        state.emit("payment_intent.payment_failed", intent)
        state.emit("checkout.session.async_payment_failed", session)
    return intent


# -- refunds ---------------------------------------------------------------------------------


def refundable(charge: dict) -> int:
    return charge["amount_captured"] - charge["amount_refunded"]


def create_refund(state: State, *, charge: dict, amount: int, reason: str | None, metadata: dict) -> dict:
    refund = objects.refund(state, charge_obj=charge, amount=amount, reason=reason, metadata=metadata)
    txn = objects.balance_transaction(
        state,
        amount=-amount,
        currency=charge["currency"],
        kind="refund",
        source=refund["id"],
        description=f"REFUND FOR CHARGE ({charge['description'] or charge['id']})",
    )
    state.add(txn)
    refund["balance_transaction"] = txn["id"]
    state.add(refund)
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    # The charge in this event has no `refunds` list (API 2022-11-15 on): refund.created tells
    # which, on API versions that send it.
    state.emit("charge.refunded", charge, previous)
    if state.sends_refund_events_for_charges():
        state.emit("refund.created", refund)
    return refund


def fail_refund(state: State, refund: dict, *, failure_reason: str) -> dict:
    """The bank returned a refund: the money is back in the merchant's balance, the charge is refundable again.

    Stripe announces it with refund.updated (and the legacy charge.refund.updated) plus
    refund.failed, or with charge.refund.updated alone on API versions before 2024-10-28; the
    charge gets no charge.refunded event.
    """
    if refund["status"] not in ("pending", "succeeded", "requires_action"):
        raise StripeError(f"Refund {refund['id']} has status {refund['status']} and cannot fail.")
    charge = state.get(refund["charge"], "charge")
    txn = objects.balance_transaction(
        state,
        amount=refund["amount"],
        currency=refund["currency"],
        kind="refund_failure",
        source=refund["id"],
        description="REFUND FAILURE",
    )
    state.add(txn)
    previous = {"status": refund["status"]}
    refund.update(status="failed", failure_reason=failure_reason, failure_balance_transaction=txn["id"])
    charge["amount_refunded"] -= refund["amount"]
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    refund_events = state.sends_refund_events_for_charges()
    if refund_events:
        state.emit("refund.updated", refund, previous)
    state.emit("charge.refund.updated", refund, previous)
    if refund_events:
        state.emit("refund.failed", refund)
    return refund


# -- disputes --------------------------------------------------------------------------------

OPEN_DISPUTE = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")


def open_dispute(state: State, charge: dict, *, reason: str, amount: int | None) -> dict:
    if charge["status"] != "succeeded" or not charge["paid"]:
        raise StripeError(f"Charge {charge['id']} was not paid, so it cannot be disputed.", param="charge")
    if any(d["charge"] == charge["id"] and d["status"] in OPEN_DISPUTE for d in state.newest_first("dispute")):
        raise StripeError(f"Charge {charge['id']} already has an open dispute.", param="charge")
    amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
    if not 0 < amount <= charge["amount"]:
        raise StripeError(f"Dispute amount must be between 1 and {charge['amount']}.", param="amount")
    dispute = objects.dispute(state, charge_obj=charge, amount=amount, reason=reason)
    withdrawal = objects.balance_transaction(
        state,
        amount=-amount,
        currency=charge["currency"],
        kind="adjustment",
        source=dispute["id"],
        fee=1500,
        category="dispute",
        description=f"Chargeback withdrawal for {charge['id']}",
    )
    state.add(withdrawal)
    dispute["balance_transactions"].append(withdrawal)
    state.add(dispute)
    charge["disputed"] = True
    state.emit("charge.dispute.created", dispute)
    state.emit("charge.dispute.funds_withdrawn", dispute)
    return dispute


def close_dispute(state: State, dispute: dict, *, status: str) -> dict:
    if status not in ("won", "lost"):
        raise StripeError("status must be won or lost", param="status")
    if dispute["status"] not in OPEN_DISPUTE:
        raise StripeError(f"Dispute {dispute['id']} is already closed ({dispute['status']}).", param="status")
    previous = {"status": dispute["status"]}
    dispute["status"] = status
    if status == "won":
        reinstated = objects.balance_transaction(
            state,
            amount=dispute["amount"],
            currency=dispute["currency"],
            kind="adjustment",
            source=dispute["id"],
            category="dispute_reversal",
            description=f"Chargeback reversal for {dispute['charge']}",
        )
        state.add(reinstated)
        dispute["balance_transactions"].append(reinstated)
        state.emit("charge.dispute.funds_reinstated", dispute)
    state.emit("charge.dispute.closed", dispute, previous)
    return dispute
