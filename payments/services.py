"""Payments: Checkout Sessions, the money facts Stripe reports, and refunds.

Every fact-recording function here is idempotent and order-tolerant: it records what one Stripe
object says (a session, a payment intent, a charge, a refund, a dispute), never moving a fact
backwards, then reconciles the appointment from the payment's derived state. The same function
serves the webhook receivers and the success page, so whichever comes first wins and the second
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from appointments.models import Appointment, AppointmentStatus, CancelReason
from appointments.services import (
    BookingError,
    appointment_cancel_hold,
    appointment_log,
    appointment_transition,
    lock_appointment,
    slot_is_held_by_other,
)
from hospital import outbox
from hospital.money import format_money
from hospital.notifications import email_queue
from payments import stripe_api, tasks
from payments.models import (
    CheckoutAttempt,
    CheckoutAttemptStatus,
    DisputeStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    StripeCustomer,
)
from payments.stripe_api import StripeRejected, StripeUnavailable

logger = logging.getLogger(__name__)
S = AppointmentStatus
REFUND_PENDING_WORK = Q(status=RefundStatus.REQUESTED)
# Stripe keeps an idempotency key for 24 hours; after that a retry must look before it leaps.
IDEMPOTENCY_KEY_LIFETIME = dt.timedelta(hours=24)
# Stripe refuses a session whose expires_at is under 30 minutes after it receives the request.
STRIPE_MIN_SESSION_LIFETIME = dt.timedelta(minutes=31)
# An open session about to expire is not worth sending the patient to: replace it.
SESSION_REUSE_MARGIN = dt.timedelta(minutes=2)
UNAVAILABLE_MESSAGE = "We could not reach our payment provider just now. Your slot is still held; please try again."


class PaymentUnavailable(BookingError):
    """Stripe could not be reached; the hold stays and the patient may try again."""


# --- Opening a payment and its checkout attempts -------------------------------------------


def _new_key(prefix: str) -> str:
    return f"{prefix}-{secrets.token_urlsafe(24)}"


def _attempt_create(*, payment: Payment, checkout_expires_at: dt.datetime, site_url: str) -> CheckoutAttempt:
    appointment = payment.appointment
    doctor = appointment.doctor
    local_start = timezone.localtime(appointment.slot.starts_at, doctor.zone)
    ids = {"appointment_id": str(appointment.pk), "payment_id": str(payment.pk)}
    params = {
        "mode": "payment",
        # A hold cannot wait days for a bank debit to clear: cards only.
        "payment_method_types": ["card"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": payment.currency,
                    "unit_amount": payment.amount,
                    "product_data": {
                        "name": f"Consultation with {doctor.display_name}",
                        "description": f"{local_start:%A %d %B %Y, %H:%M} {local_start.tzname()} ({doctor.timezone})",
                    },
                },
            }
        ],
        "expires_at": int(checkout_expires_at.timestamp()),
        "client_reference_id": str(appointment.pk),
        "metadata": ids,
        "payment_intent_data": {"metadata": ids},
        "success_url": f"{site_url}/appointments/{appointment.pk}/paid/?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{site_url}/appointments/{appointment.pk}/",
    }
    return CheckoutAttempt.objects.create(
        payment=payment, idempotency_key=_new_key("checkout"), params=params, expires_at=checkout_expires_at
    )


def payment_open(*, appointment: Appointment, checkout_expires_at: dt.datetime, site_url: str) -> Payment:
    """Called by the booking transaction: the payment snapshot and its first checkout attempt."""
    payment = Payment.objects.create(
        appointment=appointment, amount=appointment.fee_amount, currency=appointment.fee_currency
    )
    _attempt_create(payment=payment, checkout_expires_at=checkout_expires_at, site_url=site_url)
    return payment


def _lock_payment(appointment_id: int) -> tuple[Appointment, Payment]:
    """Lock slot, appointment and payment, in that order (see appointments.services.lock_appointment)."""
    appointment = lock_appointment(appointment_id)
    payment = Payment.objects.select_for_update().get(appointment_id=appointment_id)
    return appointment, payment


def stripe_customer_for(user: User) -> str:
    """The patient's one Stripe Customer, created on first use and reused after.

    Before creating, Stripe is asked for a customer we made earlier for this user: a create that
    timed out may have succeeded there. Two first bookings racing each other could still both
    create one; the unique row below keeps exactly one in use.
    """
    livemode = settings.STRIPE_LIVE_MODE
    existing = StripeCustomer.objects.filter(user=user, livemode=livemode).first()
    if existing:
        return existing.stripe_customer_id
    customer = next(
        (c for c in stripe_api.customers_with_email(user.email) if c["metadata"].get("user_id") == str(user.pk)),
        None,
    ) or stripe_api.customer_create(
        email=user.email,
        name=user.get_full_name(),
        metadata={"user_id": str(user.pk)},
        idempotency_key=_new_key("customer"),
    )
    try:
        with transaction.atomic():
            StripeCustomer.objects.create(user=user, livemode=livemode, stripe_customer_id=customer["id"])
    except IntegrityError:
        return StripeCustomer.objects.get(user=user, livemode=livemode).stripe_customer_id
    return customer["id"]


def _session_for_attempt(attempt: CheckoutAttempt, *, patient: User, customer_recreated: bool = False) -> str:
    """Create (or, on a retried click, replay) the attempt's Checkout Session; returns its URL."""
    try:
        if "customer" not in attempt.params:
            # Sent as `customer`, never `customer_email`: Stripe refuses the two together.
            attempt.params["customer"] = stripe_customer_for(patient)
            CheckoutAttempt.objects.filter(pk=attempt.pk).update(params=attempt.params)
        session = stripe_api.checkout_session_create(params=attempt.params, idempotency_key=attempt.idempotency_key)
    except StripeUnavailable as exc:
        if exc.server_error:
            # Stripe replays a stored 5xx for this key; a timeout keeps its key, so a retry
            # gets the session the lost request may have created.
            CheckoutAttempt.objects.filter(pk=attempt.pk).update(idempotency_key=_new_key("checkout"))
        raise PaymentUnavailable(UNAVAILABLE_MESSAGE) from exc
    except StripeRejected as exc:
        if exc.code == "resource_missing" and exc.param == "customer" and not customer_recreated:
            # Our stored customer is gone at Stripe (deleted in the Dashboard, or another account):
            # forget it and retry once with a new customer under a new key.
            StripeCustomer.objects.filter(stripe_customer_id=attempt.params["customer"]).delete()
            del attempt.params["customer"]
            attempt.idempotency_key = _new_key("checkout")
            CheckoutAttempt.objects.filter(pk=attempt.pk).update(
                params=attempt.params, idempotency_key=attempt.idempotency_key
            )
            return _session_for_attempt(attempt, patient=patient, customer_recreated=True)
        logger.error("Stripe refused checkout attempt %s: %s", attempt.pk, exc)
        raise PaymentUnavailable(
            "Our payment provider could not start this payment. Please try again, or contact us if it keeps failing."
        ) from exc
    CheckoutAttempt.objects.filter(pk=attempt.pk, session_id__isnull=True).update(
        session_id=session["id"], session_url=session["url"]
    )
    CheckoutAttempt.objects.filter(pk=attempt.pk, status=CheckoutAttemptStatus.NEW).update(
        status=CheckoutAttemptStatus.OPEN
    )
    return session["url"]


def checkout_redirect_url(*, appointment_id: int, site_url: str, now: dt.datetime | None = None) -> str:
    """Where to send the patient to pay for a held appointment (the first time, or to resume).

    Reuses the latest attempt's session while Stripe says it is open; otherwise starts a new
    attempt with a new key and a hold extended to match, never past HOLD_MAX_MINUTES from
    booking. Network calls happen only outside transactions.
    """
    now = now or timezone.now()
    appointment = Appointment.objects.select_related("payment", "patient").get(pk=appointment_id)
    _require_live_hold(appointment, now)
    attempt = appointment.payment.checkout_attempts.first()
    if attempt.session_id and attempt.status == CheckoutAttemptStatus.OPEN:
        if attempt.expires_at > now + SESSION_REUSE_MARGIN:
            session = _stripe_or_unavailable(stripe_api.checkout_session_retrieve, attempt.session_id)
            if session["status"] == "open":
                return session["url"]
            checkout_session_record(session=session, now=now)  # it was paid or expired meanwhile
            appointment.refresh_from_db()
            _require_live_hold(appointment, now)
        else:
            _expire_session_at_stripe(attempt)
    elif not attempt.session_id and attempt.expires_at > now + STRIPE_MIN_SESSION_LIFETIME:
        return _session_for_attempt(attempt, patient=appointment.patient)
    attempt = _attempt_renew(appointment_id=appointment_id, site_url=site_url, now=now)
    return _session_for_attempt(attempt, patient=appointment.patient)


def _stripe_or_unavailable(call, *args):
    try:
        return call(*args)
    except (StripeUnavailable, StripeRejected) as exc:
        raise PaymentUnavailable(UNAVAILABLE_MESSAGE) from exc


def _require_live_hold(appointment: Appointment, now: dt.datetime) -> None:
    if appointment.status != S.PENDING_PAYMENT:
        raise BookingError(f"This appointment is {appointment.get_status_display().lower()}; there is nothing to pay.")
    if appointment.hold_expires_at <= now:
        raise BookingError("The hold on this slot has lapsed. Please book a time again.")


def _attempt_renew(*, appointment_id: int, site_url: str, now: dt.datetime) -> CheckoutAttempt:
    checkout_expires_at = now + dt.timedelta(minutes=settings.CHECKOUT_SESSION_MINUTES)
    hold_until = checkout_expires_at + dt.timedelta(minutes=settings.HOLD_GRACE_MINUTES)
    with transaction.atomic():
        appointment, payment = _lock_payment(appointment_id)
        _require_live_hold(appointment, now)
        if hold_until > appointment.created_at + dt.timedelta(minutes=settings.HOLD_MAX_MINUTES):
            raise BookingError(
                "This slot has been held for as long as we can. Cancel this booking and book again to pay."
            )
        appointment.hold_expires_at = hold_until
        appointment.save(update_fields=["hold_expires_at", "updated_at"])
        attempt = _attempt_create(payment=payment, checkout_expires_at=checkout_expires_at, site_url=site_url)
        appointment_log(appointment=appointment, message="Payment restarted; the hold was extended.", now=now)
    return attempt


def _expire_session_at_stripe(attempt: CheckoutAttempt) -> None:
    """Close an open session before replacing or abandoning it, so it cannot be paid as well."""
    try:
        stripe_api.checkout_session_expire(attempt.session_id)
    except StripeRejected:
        # Already complete or expired at Stripe: record which, as its own event would.
        session = _stripe_or_unavailable(stripe_api.checkout_session_retrieve, attempt.session_id)
        checkout_session_record(session=session)
    except StripeUnavailable as exc:
        raise PaymentUnavailable(UNAVAILABLE_MESSAGE) from exc
    CheckoutAttempt.objects.filter(pk=attempt.pk, status=CheckoutAttemptStatus.OPEN).update(
        status=CheckoutAttemptStatus.EXPIRED
    )


def hold_cancel(*, appointment_id: int) -> Appointment:
    """The patient gives up an unpaid hold: close its open session at Stripe first, so it cannot be
    paid afterwards, then release the slot. If Stripe cannot be reached the hold stays."""
    appointment = Appointment.objects.select_related("payment").get(pk=appointment_id)
    for attempt in appointment.payment.checkout_attempts.filter(status=CheckoutAttemptStatus.OPEN):
        _expire_session_at_stripe(attempt)
    return appointment_cancel_hold(appointment_id=appointment_id)


def checkout_success(*, appointment: Appointment, session_id: str) -> None:
    """The success page: the query string is not trusted; the session is fetched from Stripe and
    recorded exactly as its webhook would be."""
    if not appointment.payment.checkout_attempts.filter(session_id=session_id).exists():
        raise BookingError("That payment does not belong to this appointment.")
    try:
        session = stripe_api.checkout_session_retrieve(session_id)
    except (StripeUnavailable, StripeRejected) as exc:
        raise PaymentUnavailable(
            "We are waiting for the payment provider to confirm your payment. This page will show it shortly."
        ) from exc
    checkout_session_record(session=session)


# --- Recording facts from Stripe objects ---------------------------------------------------


def _payment_id_from(obj: dict) -> int | None:
    metadata = obj.get("metadata") or {}
    value = metadata.get("payment_id")
    return int(value) if value and str(value).isdigit() else None


def _find_payment_id(*, metadata_source: dict | None = None, payment_intent_id: str | None = None) -> int | None:
    if metadata_source is not None:
        found = _payment_id_from(metadata_source)
        if found and Payment.objects.filter(pk=found).exists():
            return found
    if payment_intent_id:
        return Payment.objects.filter(payment_intent_id=payment_intent_id).values_list("pk", flat=True).first()
    return None


def _appointment_id_for(payment_id: int) -> int:
    return Payment.objects.values_list("appointment_id", flat=True).get(pk=payment_id)


def _id_of(value) -> str | None:
    """A Stripe reference is an id string, or the object itself when expanded."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def checkout_session_record(*, session: dict, async_failed: bool = False, now: dt.datetime | None = None) -> None:
    """checkout.session.* events and the success page. `async_failed`: the session came with
    checkout.session.async_payment_failed (a delayed payment method that did not go through)."""
    now = now or timezone.now()
    attempt = CheckoutAttempt.objects.filter(session_id=session["id"]).first()
    payment_id = attempt.payment_id if attempt else _find_payment_id(metadata_source=session)
    if payment_id is None:
        logger.info("Checkout session %s is not one of ours; ignored.", session["id"])
        return
    with transaction.atomic():
        appointment, payment = _lock_payment(_appointment_id_for(payment_id))
        if attempt is not None:
            _attempt_record_status(attempt, session.get("status"))
        payment_intent_id = _id_of(session.get("payment_intent"))
        if session.get("payment_status") == "paid" and payment_intent_id:
            _record_capture(payment, payment_intent_id=payment_intent_id, amount=session["amount_total"], now=now)
        elif session.get("status") == "complete" and payment_intent_id and not payment.payment_intent_id:
            payment.payment_intent_id = payment_intent_id  # a delayed method still processing
            payment.save(update_fields=["payment_intent_id", "updated_at"])
        if async_failed:
            payment.last_failure_reason = "The bank payment did not go through."
            payment.save(update_fields=["last_failure_reason", "updated_at"])
        _reconcile(appointment, payment, now=now)
        latest = payment.checkout_attempts.first()
        if (
            session.get("status") == "expired"
            and attempt is not None
            and latest.pk == attempt.pk
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
    if payment.payment_intent_id and payment.payment_intent_id != payment_intent_id:
        # A second session of the same booking was paid too: keep one, give the other back.
        refund = _refund_request(
            payment=payment, payment_intent_id=payment_intent_id, amount=amount, reason=RefundReason.DUPLICATE_PAYMENT
        )
        if refund is not None:
            appointment_log(
                appointment=payment.appointment,
                message="A second payment for this booking arrived; it is being refunded in full.",
                now=now,
            )
        return
    if payment.captured_amount >= amount:
        return
    payment.payment_intent_id = payment_intent_id
    payment.captured_amount = amount
    payment.paid_at = payment.paid_at or now
    payment.save(update_fields=["payment_intent_id", "captured_amount", "paid_at", "updated_at"])


def payment_intent_failure_record(*, payment_intent: dict, now: dt.datetime | None = None) -> None:
    """payment_intent.payment_failed: not terminal; the patient may pay again while the hold lives."""
    now = now or timezone.now()
    payment_id = _find_payment_id(metadata_source=payment_intent, payment_intent_id=payment_intent["id"])
    if payment_id is None:
        return
    error = payment_intent.get("last_payment_error") or {}
    reason = error.get("message") or "The payment did not go through."
    with transaction.atomic():
        appointment, payment = _lock_payment(_appointment_id_for(payment_id))
        payment.last_failure_reason = reason[:300]
        payment.save(update_fields=["last_failure_reason", "updated_at"])
        appointment_log(appointment=appointment, message=f"Payment attempt failed: {reason}", now=now)


def charge_record(*, charge: dict, now: dt.datetime | None = None) -> None:
    """charge.refunded (and any charge snapshot): the capture and each refund the charge lists."""
    now = now or timezone.now()
    payment_intent_id = _id_of(charge.get("payment_intent"))
    payment_id = _find_payment_id(metadata_source=charge, payment_intent_id=payment_intent_id)
    if payment_id is None:
        return
    with transaction.atomic():
        appointment, payment = _lock_payment(_appointment_id_for(payment_id))
        if charge.get("captured") and charge.get("amount_captured") and payment_intent_id:
            _record_capture(payment, payment_intent_id=payment_intent_id, amount=charge["amount_captured"], now=now)
        for refund in (charge.get("refunds") or {}).get("data", []):
            _refund_record_locked(payment, refund, payment_intent_id=payment_intent_id)
        _reconcile(appointment, payment, now=now)


def refund_record(*, refund: dict, now: dt.datetime | None = None) -> None:
    """refund.updated: a refund's new status (a failed refund gives the money back to the payment)."""
    now = now or timezone.now()
    ours = Refund.objects.filter(
        Q(stripe_refund_id=refund["id"]) | Q(pk=_int_or_none((refund.get("metadata") or {}).get("refund_id")))
    ).first()
    payment_intent_id = _id_of(refund.get("payment_intent"))
    payment_id = ours.payment_id if ours else _find_payment_id(payment_intent_id=payment_intent_id)
    if payment_id is None:
        return
    with transaction.atomic():
        appointment, payment = _lock_payment(_appointment_id_for(payment_id))
        _refund_record_locked(payment, refund, payment_intent_id=payment_intent_id or payment.payment_intent_id)
        _reconcile(appointment, payment, now=now)


def _int_or_none(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def _refund_record_locked(payment: Payment, refund: dict, *, payment_intent_id: str | None) -> None:
    status = refund.get("status")
    if status not in Refund.STATUS_RANK or status == RefundStatus.REQUESTED:
        status = RefundStatus.PENDING
    ours = _int_or_none((refund.get("metadata") or {}).get("refund_id"))
    row = (
        payment.refunds.filter(Q(stripe_refund_id=refund["id"]) | Q(pk=ours or 0)).first()
        if ours
        else payment.refunds.filter(stripe_refund_id=refund["id"]).first()
    )
    if row is None:
        row = Refund.objects.create(
            payment=payment,
            payment_intent_id=payment_intent_id or payment.payment_intent_id or "",
            amount=refund["amount"],
            currency=refund.get("currency") or payment.currency,
            reason=RefundReason.STRIPE,
            status=status,
            stripe_refund_id=refund["id"],
            failure_reason=refund.get("failure_reason") or "",
        )
        return
    if row.stripe_refund_id is None:
        row.stripe_refund_id = refund["id"]
    if Refund.STATUS_RANK[status] > Refund.STATUS_RANK[row.status]:
        row.status = status
        row.failure_reason = refund.get("failure_reason") or row.failure_reason
    row.save(update_fields=["stripe_refund_id", "status", "failure_reason", "updated_at"])


def dispute_record(*, dispute: dict, now: dt.datetime | None = None) -> None:
    """charge.dispute.created / closed. The appointment is left as it is; staff decide."""
    now = now or timezone.now()
    payment_intent_id = _id_of(dispute.get("payment_intent"))
    payment_id = _find_payment_id(metadata_source=dispute, payment_intent_id=payment_intent_id)
    if payment_id is None:
        payment_id = _payment_id_via_synced_charge(_id_of(dispute.get("charge")))
    if payment_id is None:
        return
    outcome = {"won": DisputeStatus.WON, "lost": DisputeStatus.LOST}.get(dispute.get("status"), DisputeStatus.OPEN)
    with transaction.atomic():
        appointment, payment = _lock_payment(_appointment_id_for(payment_id))
        # A closed dispute is final: a late "created" event must not reopen it.
        if payment.dispute_status in (DisputeStatus.WON, DisputeStatus.LOST) and outcome == DisputeStatus.OPEN:
            return
        if payment.dispute_status != outcome:
            payment.dispute_status = outcome
            payment.save(update_fields=["dispute_status", "updated_at"])
            appointment_log(
                appointment=appointment, message=f"Card dispute {DisputeStatus(outcome).label.lower()}.", now=now
            )
        _reconcile(appointment, payment, now=now)


def _payment_id_via_synced_charge(charge_id: str | None) -> int | None:
    """dj-stripe has already synced the disputed charge (and its metadata) when receivers run."""
    from djstripe.models import Charge

    if not charge_id:
        return None
    charge = Charge.objects.filter(id=charge_id).first()
    return _find_payment_id(metadata_source={"metadata": charge.metadata}) if charge else None


# --- From facts to the appointment ---------------------------------------------------------


def _reconcile(appointment: Appointment, payment: Payment, *, now: dt.datetime) -> None:
    """Bring a locked appointment in line with its payment's facts (DESIGN §4)."""
    payment.refresh_status()
    # The capture confirms, not `is_paid`: a dispute never moves an appointment (DESIGN §4), so a
    # dispute event arriving before the payment event must not stop the confirmation either.
    if payment.captured_amount > payment.refunded_amount:
        if appointment.status == S.PENDING_PAYMENT:
            _confirm(appointment, payment, message="Payment received; your appointment is confirmed.", now=now)
        elif appointment.status == S.EXPIRED or (
            appointment.status == S.CANCELED and appointment.cancel_reason == CancelReason.HOLD_CANCELED
        ):
            _late_payment(appointment, payment, now=now)
    elif payment.status == PaymentStatus.REFUNDED and appointment.status in (S.PENDING_PAYMENT, S.CONFIRMED):
        appointment_transition(
            appointment=appointment,
            to=S.CANCELED,
            message="The payment was refunded in full, so the appointment is canceled.",
            cancel_reason=CancelReason.REFUNDED,
            now=now,
        )


def _late_payment(appointment: Appointment, payment: Payment, *, now: dt.datetime) -> None:
    """Money arrived after the hold ended. Never keep money without a booking: confirm if the
    slot is still free and still ahead, otherwise refund in full."""
    slot = appointment.slot
    if slot.starts_at > now and not slot.is_blocked and not slot_is_held_by_other(appointment=appointment, now=now):
        _confirm(
            appointment,
            payment,
            message="Your payment arrived after the hold ended; the slot was still free, so it is confirmed.",
            now=now,
        )
        return
    refund = _refund_request(
        payment=payment,
        payment_intent_id=payment.payment_intent_id,
        amount=payment.captured_amount - payment.refunded_amount,
        reason=RefundReason.LATE_PAYMENT,
    )
    if refund is not None:
        appointment_log(
            appointment=appointment,
            message="Your payment arrived after the slot was taken; it is being refunded in full.",
            now=now,
        )
        email_queue(
            key=f"late-payment-refund:{appointment.pk}",
            to=appointment.patient.email,
            subject="Your payment is being refunded",
            template="payments/email/late_payment_refund.txt",
            context={"appointment": appointment, "amount": format_money(refund.amount, refund.currency)},
        )


def _confirm(appointment: Appointment, payment: Payment, *, message: str, now: dt.datetime) -> None:
    appointment_transition(appointment=appointment, to=S.CONFIRMED, message=message, now=now)
    doctor = appointment.doctor
    starts = timezone.localtime(appointment.slot.starts_at, doctor.zone)
    email_queue(
        key=f"appointment-confirmed:{appointment.pk}",
        to=appointment.patient.email,
        subject=f"Appointment confirmed: {doctor.display_name}, {starts:%a %d %b %H:%M} {starts.tzname()}",
        template="appointments/email/confirmed.txt",
        context={
            "appointment": appointment,
            "doctor": doctor,
            "starts": starts,
            "amount": format_money(payment.captured_amount, payment.currency),
        },
    )


# --- Refunds we make -----------------------------------------------------------------------


def _refund_request(*, payment: Payment, payment_intent_id: str, amount: int, reason: str) -> Refund | None:
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
                idempotency_key=_new_key("refund"),
            )
    except IntegrityError:
        return None  # already requested by an earlier delivery of the same fact
    tasks.refund_issue.enqueue(refund.pk)
    return refund


def refund_issue(*, refund_id: int, now: dt.datetime | None = None) -> None:
    """Worker: issue one requested refund at Stripe, outside any transaction."""
    now = now or timezone.now()
    refund = outbox.claim(Refund, REFUND_PENDING_WORK, refund_id, now=now)
    if refund is None:
        return
    try:
        # A retry first looks for a refund an earlier attempt may have made (our id is in its
        # metadata): the earlier call may have succeeded at Stripe without us hearing back.
        stripe_refund = _refund_made_earlier(refund) if refund.attempts > 1 else None
        if stripe_refund is None:
            if now - refund.created_at > IDEMPOTENCY_KEY_LIFETIME:
                _refund_rotate_key(refund)  # Stripe has forgotten the old key after 24 hours
            stripe_refund = _refund_create(refund)
    except StripeUnavailable as exc:
        if exc.server_error:
            _refund_rotate_key(refund)  # a stored 5xx would be replayed for this key
        outbox.release_for_retry(refund, str(exc), now=now)
        raise
    except StripeRejected as exc:
        _refund_rejected(refund, str(exc), now=now)
        return
    with transaction.atomic():
        appointment, payment = _lock_payment(refund.payment.appointment_id)
        _refund_record_locked(payment, stripe_refund, payment_intent_id=refund.payment_intent_id)
        Refund.objects.filter(pk=refund.pk).update(claimed_until=None, last_error="")
        _reconcile(appointment, payment, now=now)


def _refund_create(refund: Refund) -> dict:
    return stripe_api.refund_create(
        payment_intent=refund.payment_intent_id,
        amount=refund.amount,
        metadata={"refund_id": str(refund.pk), "payment_id": str(refund.payment_id)},
        idempotency_key=refund.idempotency_key,
    )


def _refund_made_earlier(refund: Refund) -> dict | None:
    for candidate in stripe_api.refunds_for_payment_intent(refund.payment_intent_id):
        if (candidate.get("metadata") or {}).get("refund_id") == str(refund.pk):
            return candidate
    return None


def _refund_rotate_key(refund: Refund) -> None:
    refund.idempotency_key = _new_key("refund")
    Refund.objects.filter(pk=refund.pk).update(idempotency_key=refund.idempotency_key)


def _refund_rejected(refund: Refund, error: str, *, now: dt.datetime) -> None:
    """Stripe said no (4xx): retrying the same request cannot help. Mark it failed and tell staff."""
    Refund.objects.filter(pk=refund.pk).update(
        status=RefundStatus.FAILED, failure_reason=error[:300], last_error=error[:2000], claimed_until=None
    )
    for email in User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True):
        email_queue(
            key=f"refund-failed:{refund.pk}:{email}",
            to=email,
            subject=f"Refund #{refund.pk} failed and needs attention",
            template="payments/email/refund_failed.txt",
            context={"refund": refund, "error": error, "amount": format_money(refund.amount, refund.currency)},
        )
    logger.error("Refund %s rejected by Stripe at %s: %s", refund.pk, now.isoformat(), error)
