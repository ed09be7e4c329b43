"""Refund rows: the refunds we decide to make (issued after commit by the worker in
refund_worker.py) and every refund Stripe tells us about, ours or made in its Dashboard."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from appointments.models import AppointmentStatus, CancelReason
from appointments.services import BookingError, appointment_log
from hospital import outbox
from hospital.money import format_money
from hospital.notifications import email_queue
from payments.locks import lock_payment
from payments.models import REFUND_PERMISSION, Payment, Refund, RefundFollowUp, RefundReason, RefundStatus
from payments.patient_labels import refund_failure_in_words
from payments.refund_guards import OVER_REFUND
from payments.selectors import appointment_id_for, refund_row_for, refundable_amount
from payments.services.common import new_key, refund_log_change, tell_staff
from payments.stripe_objects import UnusableStripeObject, id_of

logger = logging.getLogger(__name__)
REFUND_PENDING_WORK = Q(status=RefundStatus.REQUESTED)
REFUND_REFUSED_WORDS = "our payment provider could not send it back to the card"
# Cancellations that gave back what the policy (or the doctor or hospital) said, not all the money.
CANCELED_BY_A_PERSON = (CancelReason.PATIENT, CancelReason.DOCTOR, CancelReason.STAFF)


class RefundRefused(BookingError):
    """A refund that cannot be made; the message says why, for the staff member who asked."""


def refund_request(
    *,
    payment: Payment,
    payment_intent_id: str,
    amount: int,
    reason: str,
    reissue_of: Refund | None = None,
    requested_by: User | None = None,
    note: str = "",
) -> Refund | None:
    """Record a refund to issue after commit (the worker does the Stripe call). Once per reason,
    and once more as the re-issue of one the bank returned; `requested_by` and `note` say who
    asked and why (empty for the automatic ones). More than is left to refund is refused by the
    database (payments/refund_guards.py): RefundRefused."""
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
                reissue_of=reissue_of,
                requested_by=requested_by,
                note=note[:300],
            )
    except IntegrityError as exc:
        if OVER_REFUND in str(exc):
            raise _more_than_is_left(payment, refundable_amount(payment)) from exc
        return None  # already requested by an earlier delivery of the same fact
    refund_log_change(refund, old="")
    outbox.enqueue(refund)
    return refund


def _more_than_is_left(payment: Payment, left: int) -> RefundRefused:
    if not left:
        return RefundRefused(f"Nothing is left to refund on payment #{payment.pk}.")
    return RefundRefused(
        f"That is more than is left to refund on payment #{payment.pk}: at most {format_money(left, payment.currency)}."
    )


def payment_refund(*, payment_id: int, amount: int, note: str, by: User, now: dt.datetime | None = None) -> Refund:
    """Billing staff give back `amount` (minor units) of a payment, saying why; the worker issues it
    at Stripe after commit. The appointment is left as it is: a full refund of a visit still to
    come cancels it when Stripe reports the refund (reconcile), and a visit that started, ended or
    was missed never moves."""
    now = now or timezone.now()
    note = note.strip()
    if not by.has_perm(REFUND_PERMISSION):
        raise RefundRefused("Only billing staff can refund a payment.")
    if not note:
        raise RefundRefused("Please say why the money is given back.")
    if amount <= 0:
        raise RefundRefused("A refund must be more than zero.")
    with transaction.atomic():
        appointment, payment = lock_payment(appointment_id_for(payment_id))
        left = refundable_amount(payment)
        if amount > left:
            raise _more_than_is_left(payment, left)
        refund = refund_request(
            payment=payment,
            payment_intent_id=payment.payment_intent_id,
            amount=amount,
            reason=RefundReason.STAFF,
            requested_by=by,
            note=note,
        )
        appointment_log(
            appointment=appointment,
            message=f"The hospital is refunding {format_money(amount, payment.currency)}.",
            now=now,
        )
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


def _refund_advance(row: Refund, refund: dict) -> bool:
    """Move a refund row forward to what Stripe reports; an older snapshot never moves it back.
    Returns whether its status moved."""
    status = _refund_status(refund)
    row.stripe_refund_id = row.stripe_refund_id or refund["id"]
    old = row.status
    moved = Refund.STATUS_RANK[status] > Refund.STATUS_RANK[row.status]
    if moved:
        row.status = status
        row.failure_reason = refund.get("failure_reason") or row.failure_reason
    row.save()
    refund_log_change(row, old=old)
    return moved


def _new_stripe_refund_row(refund: dict, *, payment: Payment | None) -> Refund:
    row = Refund.objects.create(
        payment=payment,
        payment_intent_id=id_of(refund.get("payment_intent")) or "",
        amount=refund["amount"],
        currency=(refund.get("currency") or payment.currency).lower(),
        reason=RefundReason.STRIPE,
        status=_refund_status(refund),
        stripe_refund_id=refund["id"],
        failure_reason=refund.get("failure_reason") or "",
    )
    refund_log_change(row, old="")
    return row


def refund_record_locked(payment: Payment, refund: dict, *, now: dt.datetime | None = None) -> bool:
    """Record one Stripe refund on a payment whose row (and appointment) the caller has locked.
    Returns whether it went back just now: a refund we counted did not go through."""
    now = now or timezone.now()
    row = refund_row_for(refund)
    if row is None:
        _new_stripe_refund_row(refund, payment=payment)
        return False
    if row.payment_id is not None and row.payment_id != payment.pk:
        raise UnusableStripeObject(
            f"refund {refund['id']} is recorded on payment #{row.payment_id}, not on payment #{payment.pk}."
        )
    row.payment = payment
    moved = _refund_advance(row, refund)
    if not moved:
        return False
    went_back = row.status in Refund.DID_NOT_GO_THROUGH_STATUSES
    if row.reason == RefundReason.STRIPE:
        # A Dashboard refund is the hospital's own doing, told to the patient by whoever made it.
        # One that came back after (or unknown to) a person's cancellation, which gave back only
        # what it did not cover, leaves the money with us for no visit: we did not make it, so we
        # do not issue it again; a person settles it. (A visit canceled by its refund is
        # reconcile's: it tells staff the money is back.)
        if went_back and _canceled_by_a_person(payment.appointment):
            _refund_needs_staff(row, now=now)
        return went_back
    if went_back:
        _refund_returned(row, now=now)
    elif row.status == RefundStatus.SUCCEEDED:
        _refund_succeeded_email_queue(row)
    return went_back


def _canceled_by_a_person(appointment) -> bool:
    return appointment.status == AppointmentStatus.CANCELED and appointment.cancel_reason in CANCELED_BY_A_PERSON


def _refund_succeeded_email_queue(row: Refund) -> None:
    appointment = row.payment.appointment
    email_queue(
        key=f"refund-succeeded:{row.pk}",
        to=appointment.patient.email,
        subject=f"Your refund of {format_money(row.amount, row.currency)} has gone through",
        template="payments/email/refund_completed.txt",
        context={"appointment": appointment, "amount": format_money(row.amount, row.currency)},
    )


def _refund_failed_patient_email_queue(row: Refund, *, why: str) -> None:
    """The patient was told this money is on its way: tell them it is not, and who acts next."""
    appointment = row.payment.appointment
    email_queue(
        key=f"refund-returned-patient:{row.pk}",
        to=appointment.patient.email,
        subject="Your refund did not go through",
        template="payments/email/refund_returned_patient.txt",
        context={"appointment": appointment, "amount": format_money(row.amount, row.currency), "why": why},
    )


# Failure reasons after which the same refund to the same card cannot succeed: the card is gone,
# the open dispute settles the money, or someone at the hospital stopped it on purpose. Others
# (declined, insufficient_funds in our balance, unknown) may pass on a second try.
_NOT_WORTH_REISSUING = {
    "lost_or_stolen_card",
    "expired_or_canceled_card",
    "charge_for_pending_refund_disputed",
    "merchant_request",
}


def _refund_returned(row: Refund, *, now: dt.datetime) -> None:
    """One of our refunds that Stripe had accepted came back: the money is the hospital's again,
    while the patient was told it is on its way. Issue it once more when that may help; else, or
    when the second one comes back too, a person settles it with the patient."""
    appointment = row.payment.appointment
    amount = format_money(row.amount, row.currency)
    reissue = (
        row.status == RefundStatus.FAILED and row.failure_reason not in _NOT_WORTH_REISSUING and not row.reissue_of_id
    )
    if reissue:
        row.follow_up = RefundFollowUp.REISSUED
        row.save(update_fields=["follow_up", "updated_at"])
        refund_request(
            payment=row.payment,
            payment_intent_id=row.payment_intent_id,
            amount=row.amount,
            reason=row.reason,
            reissue_of=row,
            requested_by=row.requested_by,
            note=row.note,
        )
        appointment_log(
            appointment=appointment,
            message=f"The refund of {amount} did not go through at the bank, so it has been issued again.",
            now=now,
        )
        return
    _refund_needs_staff(row, now=now)


def _refund_needs_staff(row: Refund, *, now: dt.datetime) -> None:
    """A refund that came back and will not be issued again: staff return the money another way,
    and the patient hears that they will."""
    appointment = row.payment.appointment
    amount = format_money(row.amount, row.currency)
    row.follow_up = RefundFollowUp.NEEDS_STAFF
    row.save(update_fields=["follow_up", "updated_at"])
    appointment_log(
        appointment=appointment,
        message=f"The refund of {amount} could not be returned to the card; our staff will contact you about it.",
        now=now,
    )
    tell_staff(
        key=f"refund-returned:{row.pk}",
        subject=f"Refund #{row.pk} failed at the bank and needs a person",
        template="payments/email/refund_returned.txt",
        context={"refund": row, "appointment": appointment, "amount": amount},
    )
    _refund_failed_patient_email_queue(row, why=refund_failure_in_words(row))


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
        old, refund.status = refund.status, RefundStatus.FAILED
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.FAILED,
            failure_reason=error[:300],
            last_error=error[:2000],
            claimed_until=None,
            follow_up=RefundFollowUp.NEEDS_STAFF,
        )
        refund_log_change(refund, old=old)
        tell_staff(
            key=f"refund-failed:{refund.pk}",
            subject=f"Refund #{refund.pk} failed and needs attention",
            template="payments/email/refund_failed.txt",
            context={"refund": refund, "error": error, "amount": format_money(refund.amount, refund.currency)},
        )
        # Stripe's words (`error`) are for staff; the patient reads that a person will settle it.
        _refund_failed_patient_email_queue(refund, why=REFUND_REFUSED_WORDS)
    logger.error("Refund %s rejected by Stripe at %s: %s", refund.pk, now.isoformat(), error)


def refunds_settle(*, refund_ids: list[int]) -> tuple[int, int]:
    """Staff returned the money of refunds that needed a person some other way (or decided it is
    not owed). Returns (marked settled, left alone because they were not waiting for staff)."""
    settled = Refund.objects.filter(pk__in=refund_ids, follow_up=RefundFollowUp.NEEDS_STAFF).update(
        follow_up=RefundFollowUp.SETTLED, updated_at=timezone.now()
    )
    return settled, len(set(refund_ids)) - settled
