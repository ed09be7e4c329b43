"""Refund rows: the refunds we decide to make (issued after commit by the worker in
refund_worker.py) and every refund Stripe tells us about, ours or made in its Dashboard."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from hospital import outbox
from hospital.money import format_money
from payments.models import Payment, Refund, RefundReason, RefundStatus
from payments.selectors import refund_row_for
from payments.services.common import new_key, tell_staff
from payments.stripe_objects import id_of

logger = logging.getLogger(__name__)
REFUND_PENDING_WORK = Q(status=RefundStatus.REQUESTED)


def refund_request(*, payment: Payment, payment_intent_id: str, amount: int, reason: str) -> Refund | None:
    """Record a refund to issue after commit (the worker does the Stripe call). Once per reason."""
    if amount <= 0:
        return None
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                payment=payment,
                payment_intent_id=payment_intent_id,
                amount=amount,
                currency=payment.currency,
                reason=reason,
                idempotency_key=new_key("refund"),
            )
    except IntegrityError:
        return None  # already requested by an earlier delivery of the same fact
    outbox.enqueue(refund)
    return refund


def refunds_retry_now(*, refund_ids: list[int], now: dt.datetime | None = None) -> tuple[int, int]:
    """Staff's "retry now": queue another attempt for each refund still waiting to be issued.
    Returns (queued, left alone because they are not waiting)."""
    now = now or timezone.now()
    with transaction.atomic():
        waiting = list(Refund.objects.filter(REFUND_PENDING_WORK, pk__in=refund_ids))
        Refund.objects.filter(pk__in=[refund.pk for refund in waiting]).update(next_attempt_at=now)
        for refund in waiting:
            outbox.enqueue(refund)
    return len(waiting), len(set(refund_ids)) - len(waiting)


def _refund_status(refund: dict) -> str:
    status = refund.get("status")
    if status not in Refund.STATUS_RANK or status == RefundStatus.REQUESTED:
        return RefundStatus.PENDING  # e.g. requires_action: Stripe has it, the money is on its way
    return status


def _refund_advance(row: Refund, refund: dict) -> None:
    """Move a refund row forward to what Stripe reports; an older snapshot never moves it back."""
    status = _refund_status(refund)
    row.stripe_refund_id = row.stripe_refund_id or refund["id"]
    if Refund.STATUS_RANK[status] > Refund.STATUS_RANK[row.status]:
        row.status = status
        row.failure_reason = refund.get("failure_reason") or row.failure_reason
    row.save()


def _new_stripe_refund_row(refund: dict, *, payment: Payment | None) -> Refund:
    return Refund.objects.create(
        payment=payment,
        payment_intent_id=id_of(refund.get("payment_intent")) or "",
        amount=refund["amount"],
        currency=refund.get("currency") or payment.currency,
        reason=RefundReason.STRIPE,
        status=_refund_status(refund),
        stripe_refund_id=refund["id"],
        failure_reason=refund.get("failure_reason") or "",
    )


def refund_record_locked(payment: Payment, refund: dict) -> None:
    """Record one Stripe refund on a payment whose row the caller has locked."""
    row = refund_row_for(refund)
    if row is None:
        _new_stripe_refund_row(refund, payment=payment)
        return
    row.payment = payment
    _refund_advance(row, refund)


def refund_record_unattached(refund: dict) -> None:
    """A refund of a payment intent we do not know (yet): kept, so the capture that makes it ours
    finds it; a refund of another integration's charge simply stays unattached."""
    with transaction.atomic():
        row = Refund.objects.select_for_update().filter(stripe_refund_id=refund["id"]).first()
        if row is None:
            _new_stripe_refund_row(refund, payment=None)
        else:
            _refund_advance(row, refund)


def refund_rejected(refund: Refund, error: str, *, now: dt.datetime) -> None:
    """Stripe said no (4xx): retrying the same request cannot help. Mark it failed and tell staff,
    in one transaction so a crash cannot leave a failed refund nobody hears about."""
    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.FAILED, failure_reason=error[:300], last_error=error[:2000], claimed_until=None
        )
        tell_staff(
            key=f"refund-failed:{refund.pk}",
            subject=f"Refund #{refund.pk} failed and needs attention",
            template="payments/email/refund_failed.txt",
            context={"refund": refund, "error": error, "amount": format_money(refund.amount, refund.currency)},
        )
    logger.error("Refund %s rejected by Stripe at %s: %s", refund.pk, now.isoformat(), error)
