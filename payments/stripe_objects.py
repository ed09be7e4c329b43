"""Reading Stripe's objects as they arrive in events and API answers: ids, our metadata, and the
shape of each object, checked where it enters (the `checked_*` functions), so the services never
meet a null amount or an id that is no id halfway through their writes."""

from __future__ import annotations

import datetime as dt

from payments.models import StripeDisputeStatus

# Our ids in Stripe metadata, namespaced: other integrations on one Stripe account use metadata too.
METADATA_APPOINTMENT = "hospital_appointment_id"
METADATA_PAYMENT = "hospital_payment_id"
METADATA_REFUND = "hospital_refund_id"
METADATA_USER = "hospital_user_id"  # on the Stripe Customer we create for a patient
_OUR_IDS = (METADATA_APPOINTMENT, METADATA_PAYMENT, METADATA_REFUND)
_MAX_ID_DIGITS = 18  # a bigint


class UnusableStripeObject(Exception):
    """A validly signed Stripe object we cannot use: its shape breaks a rule of ours, or its
    metadata names one of our rows its charge or payment intent is not of. No retry can change
    what the event says, so the receiver records it for staff and acknowledges it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def metadata_int(obj: dict, key: str) -> int | None:
    """Our integer id under `key` in the object's metadata; None when absent. A value there that is
    not a plain number (e.g. "²", a digit to `str.isdigit` that `int` refuses) is unusable."""
    value = (obj.get("metadata") or {}).get(key)
    if value is None or value == "":
        return None
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_ID_DIGITS):
        raise UnusableStripeObject(f"{_name(obj)}: metadata {key}={value!r} is not one of our ids.")
    return int(text)


def metadata_names(obj: dict, key: str, pk: int) -> bool:
    """Whether the object names our row `pk` under `key`: a plain comparison, for searching
    Stripe's lists, where other integrations' objects may carry any metadata at all."""
    return (obj.get("metadata") or {}).get(key) == str(pk)


def id_of(value) -> str | None:
    """A Stripe reference is an id string, or the object itself when expanded."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def checked_checkout_session(session: dict) -> dict:
    _check_common(session)
    if session.get("payment_status") == "paid":
        _check_amount(session, "amount_total")
        _check_currency(session)
    return session


def checked_payment_intent(payment_intent: dict) -> dict:
    _check_money(payment_intent)
    error = payment_intent.get("last_payment_error")
    if error is not None and not (isinstance(error, dict) and isinstance(error.get("message") or "", str)):
        raise UnusableStripeObject(f"{_name(payment_intent)}: last_payment_error is not an error object.")
    return payment_intent


def checked_charge(charge: dict) -> dict:
    _check_money(charge)
    for key in ("amount_captured", "amount_refunded"):
        if charge.get(key) is not None:
            _check_amount(charge, key, zero_allowed=True)
    for refund in (charge.get("refunds") or {}).get("data", []):
        checked_refund(refund)
    return charge


def checked_refund(refund: dict) -> dict:
    _check_money(refund)
    return refund


def checked_dispute(dispute: dict) -> dict:
    """Every status Stripe documents is one of StripeDisputeStatus; a new one is for staff to read."""
    _check_money(dispute)
    if dispute.get("status") not in StripeDisputeStatus.values:
        raise UnusableStripeObject(f"{_name(dispute)}: status {dispute.get('status')!r} is not one Stripe documents.")
    details = dispute.get("evidence_details") or {}
    if not isinstance(details, dict):
        raise UnusableStripeObject(f"{_name(dispute)}: evidence_details is not an object.")
    due_by = details.get("due_by")
    if due_by is not None and (isinstance(due_by, bool) or not isinstance(due_by, int) or due_by < 0):
        raise UnusableStripeObject(f"{_name(dispute)}: evidence_details.due_by={due_by!r} is not a timestamp.")
    return dispute


def dispute_evidence_due_by(dispute: dict) -> dt.datetime | None:
    """Stripe's deadline for our evidence (a checked dispute): a Unix timestamp, or null when no
    evidence can be sent (an inquiry closed, a dispute already decided)."""
    due_by = (dispute.get("evidence_details") or {}).get("due_by")
    return None if due_by is None else dt.datetime.fromtimestamp(due_by, tz=dt.UTC)


def _name(obj: dict) -> str:
    return f"{obj.get('object') or 'object'} {obj.get('id')}"


def _check_common(obj: dict) -> None:
    if not (isinstance(obj.get("id"), str) and obj["id"]):
        raise UnusableStripeObject(f"{_name(obj)}: no id.")
    for key in _OUR_IDS:
        metadata_int(obj, key)


def _check_money(obj: dict) -> None:
    _check_common(obj)
    _check_amount(obj, "amount")
    _check_currency(obj)


def _check_amount(obj: dict, key: str, *, zero_allowed: bool = False) -> None:
    """Money is an integer of minor units; a refund, a dispute or a payment of nothing is no fact."""
    value = obj.get(key)
    smallest = 0 if zero_allowed else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
        raise UnusableStripeObject(f"{_name(obj)}: {key}={value!r} is not an amount in minor units.")


def _check_currency(obj: dict) -> None:
    value = obj.get("currency")
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
        raise UnusableStripeObject(f"{_name(obj)}: currency={value!r} is not a currency code.")
