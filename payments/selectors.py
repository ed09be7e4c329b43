"""Reads of the payments app: which of our rows a Stripe object is about."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery, Sum
from djstripe.models import Charge

from payments.models import CheckoutAttempt, Payment, Refund
from payments.stripe_objects import METADATA_PAYMENT, METADATA_REFUND, metadata_int


def payment_for(obj: dict, *, payment_intent_id: str | None = None, amount: int | None = None) -> int | None:
    """Which of our payments a Stripe object is about: by the payment intent we recorded, else by
    our id in its metadata, trusted only if currency (and amount, when given) match too; other
    integrations on the same Stripe account may use metadata as well."""
    if payment_intent_id:
        found = Payment.objects.filter(payment_intent_id=payment_intent_id).values_list("pk", flat=True).first()
        if found:
            return found
    candidates = Payment.objects.filter(pk=metadata_int(obj, METADATA_PAYMENT))
    if obj.get("currency"):
        candidates = candidates.filter(currency=obj["currency"].lower())
    if amount is not None:
        candidates = candidates.filter(amount=amount)
    return candidates.values_list("pk", flat=True).first()


def appointment_id_for(payment_id: int) -> int:
    return Payment.objects.values_list("appointment_id", flat=True).get(pk=payment_id)


def refund_row_for(refund: dict) -> Refund | None:
    """Our row for a Stripe refund: by its Stripe id, or by our id in its metadata (a refund we
    issued whose answer never reached us)."""
    by_stripe_id = Refund.objects.filter(stripe_refund_id=refund["id"]).first()
    ours = metadata_int(refund, METADATA_REFUND)
    return by_stripe_id or (Refund.objects.filter(pk=ours).first() if ours else None)


def refunded_on_payment_intent(payment_intent_id: str) -> int:
    """What our refund rows of one payment intent say has gone back (or is on its way), whether
    or not we know yet whose payment it is."""
    returned = Refund.objects.filter(payment_intent_id=payment_intent_id, status__in=Refund.MONEY_RETURNED_STATUSES)
    return returned.aggregate(total=Sum("amount"))["total"] or 0


def payment_id_via_synced_charge(charge_id: str | None) -> int | None:
    """dj-stripe has already synced the disputed charge (and its metadata) when receivers run."""
    charge = Charge.objects.filter(id=charge_id).first() if charge_id else None
    if charge is None:
        return None
    # (dj-stripe stores amounts as decimals of the major unit, so only the currency is compared.)
    return payment_for({"metadata": charge.metadata, "currency": charge.currency})


def latest_checkout_expiry() -> Subquery:
    """For a query of appointments: when the latest Checkout session of each one expires."""
    return Subquery(
        CheckoutAttempt.objects.filter(payment__appointment=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("expires_at")[:1]
    )
