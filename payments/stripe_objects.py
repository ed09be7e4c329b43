"""Reading Stripe's objects as they arrive in events and API answers: ids and our metadata."""

from __future__ import annotations

# Our ids in Stripe metadata, namespaced: other integrations on one Stripe account use metadata too.
METADATA_APPOINTMENT = "hospital_appointment_id"
METADATA_PAYMENT = "hospital_payment_id"
METADATA_REFUND = "hospital_refund_id"


def metadata_int(obj: dict, key: str) -> int | None:
    """Our integer id under `key` in the object's metadata; None when absent or not a plain number."""
    value = (obj.get("metadata") or {}).get(key)
    return int(value) if value and str(value).isdigit() else None


def id_of(value) -> str | None:
    """A Stripe reference is an id string, or the object itself when expanded."""
    if isinstance(value, dict):
        return value.get("id")
    return value
