"""Recording the money facts Stripe reports: sessions, payment intents, charges, refunds, disputes.

Every function here is idempotent and order-tolerant: it records what one Stripe object says,
never moving a fact backwards, then reconciles the appointment from the payment's derived state.
The same function serves the webhook receivers and the success page, so whichever comes first
wins and the second changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from appointments.emails import visit_headline
from appointments.models import AppointmentStatus
from appointments.services import appointment_expire, appointment_log
from hospital import outbox
from hospital.money import format_money
from hospital.money_log import log_money_change
from hospital.notifications import email_queue
from payments.card_failures import card_failure_detail, card_failure_words
from payments.locks import lock_payment, lock_payment_intent
from payments.models import (
    ChargeRefundsSync,
    ChargeRefundsSyncStatus,
    CheckoutAttempt,
    CheckoutAttemptStatus,
    Dispute,
    Payment,
    Refund,
    RefundReason,
    UnusableEvent,
    dispute_fact,
)
from payments.selectors import (
    appointment_id_for,
    dispute_payment,
    hospital_time,
    payment_for,
    payment_for_session,
    payment_id_for_intent_or_duplicate,
    refund_payment_id,
    refund_row_for,
    refunded_on_payment_intent,
)
from payments.services.common import checkout_attempt_log_change, payment_log_ids, tell_staff
from payments.services.reconcile import reconcile
from payments.services.refunds import refund_record_locked, refund_record_unattached, refund_request
from payments.stripe_objects import (
    checked_charge,
    checked_checkout_session,
    checked_dispute,
    checked_payment_intent,
    checked_refund,
    dispute_evidence_due_by,
    id_of,
)

logger = logging.getLogger(__name__)
S = AppointmentStatus


def checkout_session_record(*, session: dict, async_failed: bool = False, now: dt.datetime | None = None) -> None:
    """checkout.session.* events and the success page. `async_failed`: the session came with
    checkout.session.async_payment_failed (a delayed payment method that did not go through)."""
    now = now or timezone.now()
    session = checked_checkout_session(session)
    attempt = (
        CheckoutAttempt.objects.filter(session_id=session["id"])
        .annotate(appointment_id=F("payment__appointment_id"))  # what lock_payment takes, in this query
        .first()
    )
    payment_id = attempt.payment_id if attempt else payment_for_session(session)
    if payment_id is None:
        logger.info("Checkout session %s is not one of ours; ignored.", session["id"])
        return
    payment_intent_id = id_of(session.get("payment_intent"))
    with transaction.atomic():
        if payment_intent_id:
            lock_payment_intent(payment_intent_id)  # a refund of it may be being recorded right now
        appointment, payment = lock_payment(attempt.appointment_id if attempt else appointment_id_for(payment_id))
        if attempt is not None:
            _attempt_record_status(attempt, session.get("status"), payment=payment)
        if session.get("payment_status") == "paid" and payment_intent_id:
            _record_capture(payment, payment_intent_id=payment_intent_id, amount=session["amount_total"], now=now)
        elif session.get("status") == "complete" and payment_intent_id and not payment.captured_amount:
            payment.payment_intent_id = payment_intent_id  # a delayed method still processing
            payment.save(update_fields=["payment_intent_id", "updated_at"])
        if async_failed:
            payment.last_failure_reason = "The bank payment did not go through."
            payment.save(update_fields=["last_failure_reason", "updated_at"])
        reconcile(appointment, payment, now=now)
        # Only the latest attempt's expiry ends the hold: an older session expires because
        # "resume payment" replaced it, and the newer attempt exists before we close the old one.
        if (
            session.get("status") == "expired"
            and attempt is not None
            and payment.checkout_attempts.first().pk == attempt.pk
            and appointment.status == S.PENDING_PAYMENT
        ):
            appointment_expire(appointment=appointment, message="The payment page expired before payment.", now=now)


_ATTEMPT_STATUS_RANK = {
    CheckoutAttemptStatus.NEW: 0,
    CheckoutAttemptStatus.OPEN: 1,
    CheckoutAttemptStatus.EXPIRED: 2,
    CheckoutAttemptStatus.COMPLETE: 3,
}


def _attempt_record_status(attempt: CheckoutAttempt, stripe_status: str | None, *, payment: Payment) -> None:
    """Move the attempt forward to Stripe's status. A conditional update, not a save: `attempt`
    was read before the payment's lock, and another delivery (or the resume page, which closes
    sessions without that lock) may move it at any time."""
    if stripe_status not in CheckoutAttemptStatus.values:
        return
    old = CheckoutAttempt.objects.values_list("status", flat=True).get(pk=attempt.pk)
    if _ATTEMPT_STATUS_RANK[old] >= _ATTEMPT_STATUS_RANK[stripe_status]:
        return
    if CheckoutAttempt.objects.filter(pk=attempt.pk, status=old).update(status=stripe_status):
        checkout_attempt_log_change(attempt, payment=payment, old=old, new=stripe_status)


def _record_capture(payment: Payment, *, payment_intent_id: str, amount: int, now: dt.datetime) -> None:
    if payment.captured_amount and payment.payment_intent_id != payment_intent_id:
        # A second session of the same booking was paid too: keep one, give the other back.
        refund = refund_request(
            payment=payment, payment_intent_id=payment_intent_id, amount=amount, reason=RefundReason.DUPLICATE_PAYMENT
        )
        if refund is not None:
            appointment_log(
                appointment=payment.appointment,
                message="A second payment for this booking arrived; it is being refunded in full.",
                now=now,
            )
        return
    # Until money is captured the intent may change: a new card payment after a failed bank debit.
    payment.payment_intent_id = payment_intent_id
    payment.captured_amount = max(payment.captured_amount, amount)
    payment.paid_at = payment.paid_at or now
    payment.save(update_fields=["payment_intent_id", "captured_amount", "paid_at", "updated_at"])
    # Refunds Stripe reported before we knew whose payment intent this was belong here now.
    Refund.objects.filter(payment__isnull=True, payment_intent_id=payment_intent_id).update(payment=payment)
    _disputes_attach(payment, payment_intent_id=payment_intent_id, now=now)


def payment_intent_failure_record(*, payment_intent: dict, now: dt.datetime | None = None) -> None:
    """payment_intent.payment_failed: not terminal; the patient may pay again while the hold lives."""
    now = now or timezone.now()
    payment_intent = checked_payment_intent(payment_intent)
    payment_id = payment_for(payment_intent, payment_intent_id=payment_intent["id"], amount=payment_intent["amount"])
    if payment_id is None:
        return
    error = payment_intent.get("last_payment_error") or {}
    # The patient reads plain words; Stripe's developer text is kept for staff beside them.
    reason = card_failure_words(error)
    with transaction.atomic():
        appointment, payment = lock_payment(appointment_id_for(payment_id))
        payment.last_failure_reason = reason[:300]
        payment.last_failure_detail = card_failure_detail(error)[:500]
        payment.save(update_fields=["last_failure_reason", "last_failure_detail", "updated_at"])
        appointment_log(appointment=appointment, message=f"Payment attempt failed: {reason}", now=now)
        if appointment.status == S.PENDING_PAYMENT:  # a visit paid by another attempt needs no word
            _payment_failed_email_queue(appointment, attempt=_failed_attempt_id(payment_intent), reason=reason, now=now)


def _failed_attempt_id(payment_intent: dict) -> str:
    """What names one failed attempt: its charge (a decline), else the payment method it brought
    (each attempt brings its own; a failed bank check has no charge). Redeliveries of the event,
    under its id or a new one, name the same attempt."""
    error = payment_intent.get("last_payment_error") or {}
    return error.get("charge") or id_of(error.get("payment_method")) or payment_intent["id"]


def _payment_failed_email_queue(appointment, *, attempt: str, reason: str, now: dt.datetime) -> None:
    email_queue(
        key=f"payment-failed:{appointment.pk}:{attempt}",
        to=appointment.patient.email,
        subject=f"Your payment did not go through: {visit_headline(appointment)}",
        template="payments/email/payment_failed.txt",
        context={
            "appointment": appointment,
            "reason": reason,  # our plain words (payments.card_failures), never Stripe's text
            "hold_lives": appointment.hold_expires_at > now,
        },
    )


def charge_record(*, charge: dict, now: dt.datetime | None = None) -> None:
    """charge.refunded: the capture, and the refunds behind the charge's `amount_refunded`.

    Since API version 2022-11-15 a charge lists no refunds, and before 2024-10-28 Stripe sends no
    refund.* event for a refund made in its Dashboard, so this event may be all we hear of one.
    When the charge's refunded total disagrees with our rows, a worker lists the intent's refunds
    after commit (ChargeRefundsSync: no Stripe call while the webhook's transaction is held), each
    with its status as of then. Rows are keyed by Stripe's refund id, so a refund also told by
    refund.* is never counted twice, and since the list is never older than the event, a late
    charge snapshot cannot undo a newer fact.

    Only a charge of a payment intent we recorded confirms anything: one matched by metadata alone
    (its intent not yet known to us) records no capture, which the Checkout session's event does,
    and its refunds wait unattached for that capture.
    """
    now = now or timezone.now()
    charge = checked_charge(charge)
    payment_intent_id = id_of(charge.get("payment_intent"))
    linked = payment_id_for_intent_or_duplicate(payment_intent_id)
    payment_id = linked or payment_for(charge, payment_intent_id=payment_intent_id, amount=charge.get("amount"))
    if payment_id is None:
        return
    listed = _charge_listed_refunds(charge)
    with transaction.atomic():
        if payment_intent_id:
            lock_payment_intent(payment_intent_id)
            # A capture of this intent recorded while we waited for its lock makes the charge ours.
            linked = linked or payment_id_for_intent_or_duplicate(payment_intent_id)
        appointment, payment = lock_payment(appointment_id_for(linked or payment_id))
        holds_intent = payment_intent_id is not None and payment.payment_intent_id == payment_intent_id
        if holds_intent and charge.get("captured") and charge.get("amount_captured"):
            # e.g. a delayed payment method whose completed session told us its intent
            _record_capture(payment, payment_intent_id=payment_intent_id, amount=charge["amount_captured"], now=now)
        for refund in listed or []:
            if linked:
                refund_record_locked(payment, refund, now=now)
            else:
                refund_record_unattached(refund)
        if listed is None and payment_intent_id and _refunds_untold(charge, payment_intent_id):
            _charge_refunds_sync_request(payment_intent_id, now=now)
        reconcile(appointment, payment, now=now)


def _charge_listed_refunds(charge: dict) -> list[dict] | None:
    """The refunds an API version before 2022-11-15 still lists on the charge, checked; None when
    it lists none (or not all)."""
    listed = charge.get("refunds") or {}
    if listed.get("data") is None or listed.get("has_more"):
        return None
    return [checked_refund(refund) for refund in listed["data"]]


def _refunds_untold(charge: dict, payment_intent_id: str) -> bool:
    """The charge's refunded total is not what our refund rows of its intent make up."""
    told = charge.get("amount_refunded")
    return told is not None and told != refunded_on_payment_intent(payment_intent_id)


def _charge_refunds_sync_request(payment_intent_id: str, *, now: dt.datetime) -> None:
    """Ask the worker to list the intent's refunds after commit; asking again while a listing is
    pending or running makes it list once more (a later charge event may tell a newer refund)."""
    sync, created = ChargeRefundsSync.objects.get_or_create(
        payment_intent_id=payment_intent_id, defaults={"requested_at": now}
    )
    if not created:
        ChargeRefundsSync.objects.filter(pk=sync.pk).update(
            status=ChargeRefundsSyncStatus.PENDING, requested_at=now, next_attempt_at=now
        )
    outbox.enqueue(sync)


def refund_record(*, refund: dict, now: dt.datetime | None = None) -> None:
    """refund.created / refund.updated / refund.failed: one refund and its status (a failed refund
    gives the money back to the payment). Refunds made in Stripe's Dashboard arrive here too."""
    now = now or timezone.now()
    refund = checked_refund(refund)
    payment_intent_id = id_of(refund.get("payment_intent"))
    with transaction.atomic():
        if payment_intent_id:
            # Before looking for whose refund it is: if that payment's capture is being recorded
            # right now, we wait for it and find the payment, or it waits for us and finds our row.
            lock_payment_intent(payment_intent_id)
        row = refund_row_for(refund)
        payment_id = refund_payment_id(refund, row)
        if payment_id is None:
            refund_record_unattached(refund)
            return
        appointment, payment = lock_payment(appointment_id_for(payment_id))
        if refund_record_locked(payment, refund, now=now) and payment_intent_id:
            # A charge event may have told its refunded total while this refund still counted
            # here, and that total matched our rows with a newer refund in place of this one: on
            # API versions before 2024-10-28 that event is all we hear of a Dashboard refund, so
            # list the intent's refunds again rather than trust the match.
            _charge_refunds_sync_request(payment_intent_id, now=now)
        reconcile(appointment, payment, now=now)


def dispute_record(*, dispute: dict, now: dt.datetime | None = None) -> None:
    """charge.dispute.created / closed: one row per Stripe dispute, never moved back to an earlier
    stage; the payment's dispute fact is derived from all its disputes. The appointment is left as
    it is; staff decide. A dispute on no payment of ours that captured money is kept apart."""
    now = now or timezone.now()
    dispute = checked_dispute(dispute)
    with transaction.atomic():
        payment_id, payment_intent_id, note = dispute_payment(dispute)
        if payment_intent_id:
            # As for refunds: a capture of this intent being recorded right now is waited for, and
            # the payment is looked up again once we hold its lock.
            lock_payment_intent(payment_intent_id)
            payment_id, payment_intent_id, note = dispute_payment(dispute)
        if payment_id is None:
            _dispute_row_record(dispute, payment=None, payment_intent_id=payment_intent_id, note=note)
            return
        appointment, payment = lock_payment(appointment_id_for(payment_id))
        row, changed = _dispute_row_record(dispute, payment=payment, payment_intent_id=payment_intent_id, note="")
        if changed:
            _dispute_log(row, appointment=appointment, now=now)
            _dispute_tell_billing(row, payment=payment)
        _dispute_fact_refresh(payment)
        reconcile(appointment, payment, now=now)


def _dispute_log(row: Dispute, *, appointment, now: dt.datetime) -> None:
    appointment_log(appointment=appointment, message=f"Card dispute: {row.get_status_display().lower()}.", now=now)


def _dispute_fact_refresh(payment: Payment) -> None:
    payment.dispute_status = dispute_fact(payment.disputes.values_list("status", flat=True))
    payment.save(update_fields=["dispute_status", "updated_at"])


def _disputes_attach(payment: Payment, *, payment_intent_id: str, now: dt.datetime) -> None:
    """Disputes Stripe reported before we recorded the capture of their payment intent belong to
    this (locked) payment now; the caller reconciles."""
    kept_apart = list(Dispute.objects.filter(payment__isnull=True, payment_intent_id=payment_intent_id))
    if not kept_apart:
        return
    for row in kept_apart:
        row.payment, row.note = payment, ""
        row.save(update_fields=["payment", "note", "updated_at"])
        _dispute_log(row, appointment=payment.appointment, now=now)
        _dispute_tell_billing(row, payment=payment)
    _dispute_fact_refresh(payment)


def _dispute_tell_billing(row: Dispute, *, payment: Payment) -> None:
    """Billing staff hear of a dispute on one of our payments once when it opens and once when it
    closes, however often Stripe tells either (the e-mail's key is the fact). A dispute first heard
    of closed gets the closing e-mail alone."""
    stage = "opened" if row.is_open else "closed"
    tell_staff(
        key=f"dispute-{stage}:{row.stripe_dispute_id}",
        subject=f"Card dispute {stage} on payment #{payment.pk}: {format_money(row.amount, row.currency)}",
        template=f"payments/email/dispute_{stage}.txt",
        context={
            "dispute": row,
            "payment": payment,
            "amount": format_money(row.amount, row.currency),
            "due_by": hospital_time(row.evidence_due_by) if row.evidence_due_by else "",
        },
        billing_only=True,
    )


def _dispute_row_record(
    dispute: dict, *, payment: Payment | None, payment_intent_id: str | None, note: str
) -> tuple[Dispute, bool]:
    """Create or advance the dispute's row; (row, whether its status changed). Two first deliveries
    of one unmatched dispute at once collide on the unique id: the loser answers 500 and Stripe's
    retry finds the row (matched ones are serialized by the payment's lock)."""
    row = Dispute.objects.select_for_update().filter(stripe_dispute_id=dispute["id"]).first()
    if row is None:
        row = Dispute.objects.create(
            stripe_dispute_id=dispute["id"],
            payment=payment,
            charge_id=id_of(dispute.get("charge")) or "",
            payment_intent_id=payment_intent_id or "",
            amount=dispute["amount"],
            currency=dispute["currency"].lower(),
            status=dispute["status"],
            reason=(dispute.get("reason") or "")[:50],
            evidence_due_by=dispute_evidence_due_by(dispute),
            note=note,
        )
        _dispute_log_change(row, old="")
        return row, True
    attach = payment is not None and row.payment_id is None
    advance = Dispute.STATUS_RANK[dispute["status"]] > Dispute.STATUS_RANK[row.status]
    if not (attach or advance):
        return row, False
    old = row.status
    if attach:
        row.payment, row.note = payment, ""
    if advance:
        row.status, row.amount = dispute["status"], dispute["amount"]
        row.evidence_due_by = dispute_evidence_due_by(dispute) or row.evidence_due_by
    row.save()
    _dispute_log_change(row, old=old)
    return row, True


def _dispute_log_change(row: Dispute, *, old: str) -> None:
    log_money_change(
        "dispute",
        row.pk,
        old=old,
        new=row.status,
        **payment_log_ids(row.payment, payment_intent_id=row.payment_intent_id),
        stripe_dispute_id=row.stripe_dispute_id,
        charge_id=row.charge_id,
        amount=row.amount,
        currency=row.currency,
        dispute_reason=row.reason,
    )


def unusable_event_record(*, event_id: str, event_type: str, object_id: str, reason: str) -> None:
    """A signed event we cannot use, kept for staff (its body is in dj-stripe's webhook records)."""
    logger.warning("Unusable Stripe event %s (%s): %s", event_id, event_type, reason)
    UnusableEvent.objects.get_or_create(
        event_id=event_id, defaults={"event_type": event_type, "object_id": object_id or "", "reason": reason}
    )
