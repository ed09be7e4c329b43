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
    slot_expire_lapsed_holds,
    slot_is_bookable,
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
# Our ids in Stripe metadata, namespaced: other integrations on one Stripe account use metadata too.
METADATA_APPOINTMENT = "hospital_appointment_id"
METADATA_PAYMENT = "hospital_payment_id"
METADATA_REFUND = "hospital_refund_id"
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
    ids = {METADATA_APPOINTMENT: str(appointment.pk), METADATA_PAYMENT: str(payment.pk)}
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
    elif not attempt.session_id and attempt.expires_at > now + STRIPE_MIN_SESSION_LIFETIME:
        return _session_for_attempt(attempt, patient=appointment.patient)
    # A new attempt first, then close the old session: its "expired" event then finds a newer
    # attempt and leaves the hold alone.
    new_attempt = _attempt_renew(appointment_id=appointment_id, replacing=attempt, site_url=site_url, now=now)
    if attempt.session_id and attempt.status == CheckoutAttemptStatus.OPEN:
        _expire_session_at_stripe(attempt)
        appointment.refresh_from_db()
        _require_live_hold(appointment, now)  # the old session may have been paid after all
    return _session_for_attempt(new_attempt, patient=appointment.patient)


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


def _attempt_renew(
    *, appointment_id: int, replacing: CheckoutAttempt, site_url: str, now: dt.datetime
) -> CheckoutAttempt:
    checkout_expires_at = now + dt.timedelta(minutes=settings.CHECKOUT_SESSION_MINUTES)
    hold_until = checkout_expires_at + dt.timedelta(minutes=settings.HOLD_GRACE_MINUTES)
    with transaction.atomic():
        appointment, payment = _lock_payment(appointment_id)
        _require_live_hold(appointment, now)
        latest = payment.checkout_attempts.first()
        if latest.pk != replacing.pk:
            return latest  # a second click got here first: use its attempt, do not extend twice
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


def _metadata_int(obj: dict, key: str) -> int | None:
    value = (obj.get("metadata") or {}).get(key)
    return int(value) if value and str(value).isdigit() else None


def _id_of(value) -> str | None:
    """A Stripe reference is an id string, or the object itself when expanded."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _payment_for(obj: dict, *, payment_intent_id: str | None = None, amount: int | None = None) -> int | None:
    """Which of our payments a Stripe object is about: by the payment intent we recorded, else by
    our id in its metadata, trusted only if currency (and amount, when given) match too; other
    integrations on the same Stripe account may use metadata as well."""
    if payment_intent_id:
        found = Payment.objects.filter(payment_intent_id=payment_intent_id).values_list("pk", flat=True).first()
        if found:
            return found
    candidates = Payment.objects.filter(pk=_metadata_int(obj, METADATA_PAYMENT))
    if obj.get("currency"):
        candidates = candidates.filter(currency=obj["currency"].lower())
    if amount is not None:
        candidates = candidates.filter(amount=amount)
    return candidates.values_list("pk", flat=True).first()


def _appointment_id_for(payment_id: int) -> int:
    return Payment.objects.values_list("appointment_id", flat=True).get(pk=payment_id)


def checkout_session_record(*, session: dict, async_failed: bool = False, now: dt.datetime | None = None) -> None:
    """checkout.session.* events and the success page. `async_failed`: the session came with
    checkout.session.async_payment_failed (a delayed payment method that did not go through)."""
    now = now or timezone.now()
    attempt = CheckoutAttempt.objects.filter(session_id=session["id"]).first()
    payment_id = attempt.payment_id if attempt else _payment_for(session, amount=session.get("amount_total"))
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
        elif session.get("status") == "complete" and payment_intent_id and not payment.captured_amount:
            payment.payment_intent_id = payment_intent_id  # a delayed method still processing
            payment.save(update_fields=["payment_intent_id", "updated_at"])
        if async_failed:
            payment.last_failure_reason = "The bank payment did not go through."
            payment.save(update_fields=["last_failure_reason", "updated_at"])
        _reconcile(appointment, payment, now=now)
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
    payment_id = _payment_for(payment_intent, payment_intent_id=payment_intent["id"], amount=payment_intent["amount"])
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
    """charge.refunded: the capture, and the refunds if the charge lists them (it does not since
    Stripe's API version 2022-11-15; refund.* events tell about each refund instead)."""
    now = now or timezone.now()
    payment_intent_id = _id_of(charge.get("payment_intent"))
    payment_id = _payment_for(charge, payment_intent_id=payment_intent_id, amount=charge.get("amount"))
    if payment_id is None:
        return
    with transaction.atomic():
        appointment, payment = _lock_payment(_appointment_id_for(payment_id))
        if charge.get("captured") and charge.get("amount_captured") and payment_intent_id:
            _record_capture(payment, payment_intent_id=payment_intent_id, amount=charge["amount_captured"], now=now)
        for refund in (charge.get("refunds") or {}).get("data", []):
            _refund_record_locked(payment, refund)
        _reconcile(appointment, payment, now=now)


def refund_record(*, refund: dict, now: dt.datetime | None = None) -> None:
    """refund.created / refund.updated / refund.failed: one refund and its status (a failed refund
    gives the money back to the payment). Refunds made in Stripe's Dashboard arrive here too."""
    now = now or timezone.now()
    row = _refund_row_for(refund)
    payment_intent_id = _id_of(refund.get("payment_intent"))
    payment_id = row.payment_id if row and row.payment_id else _payment_for(refund, payment_intent_id=payment_intent_id)
    if payment_id is None:
        _refund_record_unattached(refund)
        return
    with transaction.atomic():
        appointment, payment = _lock_payment(_appointment_id_for(payment_id))
        _refund_record_locked(payment, refund)
        _reconcile(appointment, payment, now=now)


def _refund_row_for(refund: dict) -> Refund | None:
    by_stripe_id = Refund.objects.filter(stripe_refund_id=refund["id"]).first()
    ours = _metadata_int(refund, METADATA_REFUND)
    return by_stripe_id or (Refund.objects.filter(pk=ours).first() if ours else None)


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
        payment_intent_id=_id_of(refund.get("payment_intent")) or "",
        amount=refund["amount"],
        currency=refund.get("currency") or payment.currency,
        reason=RefundReason.STRIPE,
        status=_refund_status(refund),
        stripe_refund_id=refund["id"],
        failure_reason=refund.get("failure_reason") or "",
    )


def _refund_record_locked(payment: Payment, refund: dict) -> None:
    row = _refund_row_for(refund)
    if row is None:
        _new_stripe_refund_row(refund, payment=payment)
        return
    row.payment = payment
    _refund_advance(row, refund)


def _refund_record_unattached(refund: dict) -> None:
    """A refund of a payment intent we do not know (yet): kept, so the capture that makes it ours
    finds it; a refund of another integration's charge simply stays unattached."""
    try:
        with transaction.atomic():
            row = Refund.objects.select_for_update().filter(stripe_refund_id=refund["id"]).first()
            if row is None:
                _new_stripe_refund_row(refund, payment=None)
            else:
                _refund_advance(row, refund)
    except IntegrityError:  # the same refund, recorded by a concurrent delivery
        refund_record(refund=refund)


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
    payment_intent_id = _id_of(dispute.get("payment_intent"))
    payment_id = _payment_for(dispute, payment_intent_id=payment_intent_id) or _payment_id_via_synced_charge(
        _id_of(dispute.get("charge"))
    )
    if payment_id is None:
        return
    outcome = _DISPUTE_OUTCOMES.get(dispute.get("status"), DisputeStatus.OPEN)
    with transaction.atomic():
        appointment, payment = _lock_payment(_appointment_id_for(payment_id))
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
        _reconcile(appointment, payment, now=now)


def _payment_id_via_synced_charge(charge_id: str | None) -> int | None:
    """dj-stripe has already synced the disputed charge (and its metadata) when receivers run."""
    from djstripe.models import Charge

    charge = Charge.objects.filter(id=charge_id).first() if charge_id else None
    if charge is None:
        return None
    # (dj-stripe stores amounts as decimals of the major unit, so only the currency is compared.)
    return _payment_for({"metadata": charge.metadata, "currency": charge.currency})


# --- From facts to the appointment ---------------------------------------------------------


def _reconcile(appointment: Appointment, payment: Payment, *, now: dt.datetime) -> None:
    """Bring a locked appointment in line with its payment's facts (DESIGN section 4)."""
    payment.refresh_status()
    if payment.money_received:
        if appointment.status == S.PENDING_PAYMENT:
            _confirm(appointment, payment, message="Payment received; your appointment is confirmed.", now=now)
        elif appointment.status == S.EXPIRED or (
            appointment.status == S.CANCELED and appointment.cancel_reason == CancelReason.HOLD_CANCELED
        ):
            _late_payment(appointment, payment, now=now)
        elif appointment.status == S.CANCELED and appointment.cancel_reason == CancelReason.REFUNDED:
            # The refund that canceled it failed: the money is back with us but the slot may be
            # gone. A person decides (refund again, or rebook); never silently keep it.
            _tell_staff(
                key=f"kept-money:{payment.pk}:{payment.refunded_amount}",
                subject=f"Payment #{payment.pk} holds money for a canceled appointment",
                template="payments/email/money_without_booking.txt",
                context={
                    "payment": payment,
                    "amount": format_money(payment.captured_amount - payment.refunded_amount, payment.currency),
                },
            )
    elif payment.fully_refunded and appointment.status in (S.PENDING_PAYMENT, S.CONFIRMED):
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
    if payment.refunds.filter(reason=RefundReason.LATE_PAYMENT).exists():
        return  # already decided: it is being refunded
    slot = appointment.slot  # locked by _lock_payment
    slot_expire_lapsed_holds(slot=slot, now=now)
    if slot_is_bookable(slot=slot, now=now) and not slot_is_held_by_other(appointment=appointment, now=now):
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
        _refund_record_locked(payment, stripe_refund)
        Refund.objects.filter(pk=refund.pk).update(claimed_until=None, last_error="")
        _reconcile(appointment, payment, now=now)


def _refund_create(refund: Refund) -> dict:
    return stripe_api.refund_create(
        payment_intent=refund.payment_intent_id,
        amount=refund.amount,
        metadata={METADATA_REFUND: str(refund.pk), METADATA_PAYMENT: str(refund.payment_id)},
        idempotency_key=refund.idempotency_key,
    )


def _refund_made_earlier(refund: Refund) -> dict | None:
    for candidate in stripe_api.refunds_for_payment_intent(refund.payment_intent_id):
        if _metadata_int(candidate, METADATA_REFUND) == refund.pk:
            return candidate
    return None


def _refund_rotate_key(refund: Refund) -> None:
    refund.idempotency_key = _new_key("refund")
    Refund.objects.filter(pk=refund.pk).update(idempotency_key=refund.idempotency_key)


def _refund_rejected(refund: Refund, error: str, *, now: dt.datetime) -> None:
    """Stripe said no (4xx): retrying the same request cannot help. Mark it failed and tell staff,
    in one transaction so a crash cannot leave a failed refund nobody hears about."""
    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(
            status=RefundStatus.FAILED, failure_reason=error[:300], last_error=error[:2000], claimed_until=None
        )
        _tell_staff(
            key=f"refund-failed:{refund.pk}",
            subject=f"Refund #{refund.pk} failed and needs attention",
            template="payments/email/refund_failed.txt",
            context={"refund": refund, "error": error, "amount": format_money(refund.amount, refund.currency)},
        )
    logger.error("Refund %s rejected by Stripe at %s: %s", refund.pk, now.isoformat(), error)


def _tell_staff(*, key: str, subject: str, template: str, context: dict) -> None:
    """An e-mail to every active staff member, once per `key`."""
    for email in User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True):
        email_queue(key=f"{key}:{email}", to=email, subject=subject, template=template, context=context)
