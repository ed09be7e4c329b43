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
from django.utils import timezone

from appointments.models import AppointmentStatus
from appointments.services import appointment_log, appointment_transition
from payments import stripe_api
from payments.card_failures import card_failure_detail, card_failure_words
from payments.locks import lock_payment, lock_payment_intent
from payments.models import CheckoutAttempt, CheckoutAttemptStatus, DisputeStatus, Payment, Refund, RefundReason
from payments.selectors import (
    appointment_id_for,
    payment_for,
    payment_id_via_synced_charge,
    refund_row_for,
    refunded_on_payment_intent,
)
from payments.services.reconcile import reconcile
from payments.services.refunds import refund_record_locked, refund_record_unattached, refund_request
from payments.stripe_objects import id_of

logger = logging.getLogger(__name__)
S = AppointmentStatus


def checkout_session_record(*, session: dict, async_failed: bool = False, now: dt.datetime | None = None) -> None:
    """checkout.session.* events and the success page. `async_failed`: the session came with
    checkout.session.async_payment_failed (a delayed payment method that did not go through)."""
    now = now or timezone.now()
    attempt = CheckoutAttempt.objects.filter(session_id=session["id"]).first()
    payment_id = attempt.payment_id if attempt else payment_for(session, amount=session.get("amount_total"))
    if payment_id is None:
        logger.info("Checkout session %s is not one of ours; ignored.", session["id"])
        return
    payment_intent_id = id_of(session.get("payment_intent"))
    with transaction.atomic():
        if payment_intent_id:
            lock_payment_intent(payment_intent_id)  # a refund of it may be being recorded right now
        appointment, payment = lock_payment(appointment_id_for(payment_id))
        if attempt is not None:
            _attempt_record_status(attempt, session.get("status"))
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
            appointment_transition(
                appointment=appointment, to=S.EXPIRED, message="The payment page expired before payment.", now=now
            )


_ATTEMPT_STATUS_RANK = {
    CheckoutAttemptStatus.NEW: 0,
    CheckoutAttemptStatus.OPEN: 1,
    CheckoutAttemptStatus.EXPIRED: 2,
    CheckoutAttemptStatus.COMPLETE: 3,
}


def _attempt_record_status(attempt: CheckoutAttempt, stripe_status: str | None) -> None:
    if stripe_status not in CheckoutAttemptStatus.values:
        return
    if _ATTEMPT_STATUS_RANK[stripe_status] > _ATTEMPT_STATUS_RANK[attempt.status]:
        attempt.status = stripe_status
        attempt.save(update_fields=["status"])


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


def payment_intent_failure_record(*, payment_intent: dict, now: dt.datetime | None = None) -> None:
    """payment_intent.payment_failed: not terminal; the patient may pay again while the hold lives."""
    now = now or timezone.now()
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


def charge_record(*, charge: dict, now: dt.datetime | None = None) -> None:
    """charge.refunded: the capture, and the refunds behind the charge's `amount_refunded`.

    Since API version 2022-11-15 a charge lists no refunds, and before 2024-10-28 Stripe sends no
    refund.* event for a refund made in its Dashboard, so this event may be all we hear of one.
    When the charge's refunded total disagrees with our rows, Stripe's list of the intent's
    refunds says which refunds make it up, each with its status as of now. Rows are keyed by
    Stripe's refund id, so a refund also told by refund.* is never counted twice, and since the
    list is never older than the event, a late charge snapshot cannot undo a newer fact (a
    refund that failed since gave the money back, whatever the old total said).
    """
    now = now or timezone.now()
    payment_intent_id = id_of(charge.get("payment_intent"))
    payment_id = payment_for(charge, payment_intent_id=payment_intent_id, amount=charge.get("amount"))
    if payment_id is None:
        return
    refunds = _charge_refunds(charge, payment_intent_id)  # a Stripe call, before we lock anything
    with transaction.atomic():
        if payment_intent_id:
            lock_payment_intent(payment_intent_id)
        appointment, payment = lock_payment(appointment_id_for(payment_id))
        if charge.get("captured") and charge.get("amount_captured") and payment_intent_id:
            _record_capture(payment, payment_intent_id=payment_intent_id, amount=charge["amount_captured"], now=now)
        for refund in refunds:
            refund_record_locked(payment, refund, now=now)
        reconcile(appointment, payment, now=now)


def _charge_refunds(charge: dict, payment_intent_id: str | None) -> list[dict]:
    """The refunds that make up the charge's `amount_refunded`, when our rows do not already."""
    listed = charge.get("refunds") or {}
    if listed.get("data") is not None and not listed.get("has_more"):
        return listed["data"]  # an API version before 2022-11-15 still lists them
    told = charge.get("amount_refunded")
    if not payment_intent_id or told is None or told == refunded_on_payment_intent(payment_intent_id):
        return []
    return stripe_api.refunds_for_payment_intent(payment_intent_id)


def refund_record(*, refund: dict, now: dt.datetime | None = None) -> None:
    """refund.created / refund.updated / refund.failed: one refund and its status (a failed refund
    gives the money back to the payment). Refunds made in Stripe's Dashboard arrive here too."""
    now = now or timezone.now()
    payment_intent_id = id_of(refund.get("payment_intent"))
    with transaction.atomic():
        if payment_intent_id:
            # Before looking for whose refund it is: if that payment's capture is being recorded
            # right now, we wait for it and find the payment, or it waits for us and finds our row.
            lock_payment_intent(payment_intent_id)
        row = refund_row_for(refund)
        payment_id = (
            row.payment_id if row and row.payment_id else payment_for(refund, payment_intent_id=payment_intent_id)
        )
        if payment_id is None:
            refund_record_unattached(refund)
            return
        appointment, payment = lock_payment(appointment_id_for(payment_id))
        refund_record_locked(payment, refund, now=now)
        reconcile(appointment, payment, now=now)


_DISPUTE_OUTCOMES = {
    "won": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
    # An inquiry closed without becoming a chargeback.
    "warning_closed": DisputeStatus.INQUIRY_CLOSED,
}
_DISPUTE_RANK = {
    DisputeStatus.NONE: 0,
    DisputeStatus.OPEN: 1,
    DisputeStatus.WON: 2,
    DisputeStatus.LOST: 2,
    DisputeStatus.INQUIRY_CLOSED: 2,
}


def dispute_record(*, dispute: dict, now: dt.datetime | None = None) -> None:
    """charge.dispute.created / closed. The appointment is left as it is; staff decide."""
    now = now or timezone.now()
    payment_intent_id = id_of(dispute.get("payment_intent"))
    payment_id = payment_for(dispute, payment_intent_id=payment_intent_id) or payment_id_via_synced_charge(
        id_of(dispute.get("charge"))
    )
    if payment_id is None:
        return
    outcome = _DISPUTE_OUTCOMES.get(dispute.get("status"), DisputeStatus.OPEN)
    with transaction.atomic():
        appointment, payment = lock_payment(appointment_id_for(payment_id))
        if payment.payment_intent_id and payment_intent_id and payment_intent_id != payment.payment_intent_id:
            logger.warning("Dispute %s is about a refunded duplicate payment of %s.", dispute["id"], payment.pk)
            return
        # Closed is final: a "created" event delivered late must not reopen it.
        if _DISPUTE_RANK[outcome] > _DISPUTE_RANK[payment.dispute_status]:
            payment.dispute_status = outcome
            payment.save(update_fields=["dispute_status", "updated_at"])
            appointment_log(
                appointment=appointment, message=f"Card dispute: {DisputeStatus(outcome).label.lower()}.", now=now
            )
        reconcile(appointment, payment, now=now)
