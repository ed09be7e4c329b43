"""Opening a payment: the booking that creates it, its Checkout Sessions, resuming and abandoning.

Network calls to Stripe happen only outside our transactions (DESIGN §4 step 2).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from appointments.models import Appointment, AppointmentStatus
from appointments.services import BookingError, appointment_cancel_hold, appointment_hold, appointment_log
from hospital import outbox
from hospital.money_log import log_money_change
from payments import stripe_api
from payments.locks import lock_payment
from payments.models import CheckoutAttempt, CheckoutAttemptStatus, Payment, SessionClosing, StripeCustomer
from payments.services.common import (
    IDEMPOTENCY_KEY_LIFETIME,
    UNAVAILABLE_MESSAGE,
    PaymentUnavailable,
    checkout_attempt_log_change,
    new_key,
    payment_log_ids,
)
from payments.services.facts import checkout_session_record
from payments.stripe_api import StripeRejected, StripeUnavailable
from payments.stripe_objects import (
    METADATA_APPOINTMENT,
    METADATA_PAYMENT,
    METADATA_USER,
    UnusableStripeObject,
    metadata_names,
)

logger = logging.getLogger(__name__)
S = AppointmentStatus
WAITING_MESSAGE = "We are waiting for the payment provider to confirm your payment. This page will show it shortly."
# Stripe refuses a session whose expires_at is under 30 minutes after it receives the request.
STRIPE_MIN_SESSION_LIFETIME = dt.timedelta(minutes=31)
# An open session about to expire is not worth sending the patient to: replace it.
SESSION_REUSE_MARGIN = dt.timedelta(minutes=2)
SESSION_CLOSE_PENDING = Q(closed_at__isnull=True)


def appointment_book(*, patient: User, slot_id: int, reason: str, site_url: str, now: dt.datetime | None = None):
    """A booking is a hold on the slot and the payment that will confirm it, made together in one
    transaction: appointments holds the slot, payments opens the payment and its first checkout
    attempt. The Checkout Session itself is created after commit (checkout_redirect_url), never
    while the slot is locked."""
    now = now or timezone.now()
    checkout_expires_at = now + dt.timedelta(minutes=settings.CHECKOUT_SESSION_MINUTES)
    with transaction.atomic():
        appointment = appointment_hold(
            patient=patient,
            slot_id=slot_id,
            reason=reason,
            hold_expires_at=checkout_expires_at + dt.timedelta(minutes=settings.HOLD_GRACE_MINUTES),
            now=now,
        )
        payment_open(appointment=appointment, checkout_expires_at=checkout_expires_at, site_url=site_url)
    return appointment


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
        payment=payment, idempotency_key=new_key("checkout"), params=params, expires_at=checkout_expires_at
    )


def payment_open(*, appointment: Appointment, checkout_expires_at: dt.datetime, site_url: str) -> Payment:
    """Inside the booking transaction: the payment snapshot and its first checkout attempt."""
    payment = Payment.for_booking(appointment)
    payment.save()
    log_money_change(
        "payment",
        payment.pk,
        old="",
        new=payment.status,
        **payment_log_ids(payment),
        amount=payment.amount,
        currency=payment.currency,
    )
    _attempt_create(payment=payment, checkout_expires_at=checkout_expires_at, site_url=site_url)
    return payment


def stripe_customer_for(user: User, *, now: dt.datetime | None = None) -> str:
    """The patient's one Stripe Customer, created on first use and reused after: one Stripe call
    the first time, none after.

    The create goes out with a key and parameters stored on our row first, so a create that timed
    out is retried as the same request and Stripe replays the customer it made. Two first
    bookings racing share the one row, so they share the key too. Stripe forgets a key after
    24 hours: a row whose key is older than that and never got its customer looks for one made
    under it (our user id is in its metadata) before trying again under a new key.
    """
    now = now or timezone.now()
    livemode = settings.STRIPE_LIVE_MODE
    row = StripeCustomer.objects.filter(user=user, livemode=livemode).first()
    if row and row.stripe_customer_id:
        return row.stripe_customer_id
    if row is None:
        row = _customer_row_create(user=user, livemode=livemode, now=now)
    elif now - row.key_created_at > IDEMPOTENCY_KEY_LIFETIME:
        found = next(
            (c for c in stripe_api.customers_with_email(user.email) if metadata_names(c, METADATA_USER, user.pk)), None
        )
        if found:
            return _customer_row_settle(row, found["id"])
        _customer_row_rotate_key(row, now=now)
    try:
        customer = stripe_api.customer_create(**row.create_params, idempotency_key=row.idempotency_key)
    except StripeUnavailable as exc:
        if exc.server_error:
            _customer_row_rotate_key(row, now=now)  # Stripe would replay its stored 5xx for this key
        raise
    return _customer_row_settle(row, customer["id"])


def _customer_row_rotate_key(row: StripeCustomer, *, now: dt.datetime) -> None:
    row.idempotency_key, row.key_created_at = new_key("customer"), now
    StripeCustomer.objects.filter(pk=row.pk).update(idempotency_key=row.idempotency_key, key_created_at=now)


def _customer_row_create(*, user: User, livemode: bool, now: dt.datetime) -> StripeCustomer:
    params = {"email": user.email, "name": user.get_full_name(), "metadata": {METADATA_USER: str(user.pk)}}
    try:
        with transaction.atomic():
            return StripeCustomer.objects.create(
                user=user, livemode=livemode, idempotency_key=new_key("customer"), create_params=params,
                key_created_at=now,
            )  # fmt: skip
    except IntegrityError:  # a concurrent first booking made it: use its key
        return StripeCustomer.objects.get(user=user, livemode=livemode)


def _customer_row_settle(row: StripeCustomer, customer_id: str) -> str:
    StripeCustomer.objects.filter(pk=row.pk, stripe_customer_id__isnull=True).update(stripe_customer_id=customer_id)
    return customer_id


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
            CheckoutAttempt.objects.filter(pk=attempt.pk).update(idempotency_key=new_key("checkout"))
        raise PaymentUnavailable(UNAVAILABLE_MESSAGE) from exc
    except StripeRejected as exc:
        if exc.code == "resource_missing" and exc.param == "customer" and not customer_recreated:
            # Our stored customer is gone at Stripe (deleted in the Dashboard, or another account):
            # forget it and retry once with a new customer under a new key.
            StripeCustomer.objects.filter(stripe_customer_id=attempt.params["customer"]).delete()
            del attempt.params["customer"]
            attempt.idempotency_key = new_key("checkout")
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
    if CheckoutAttempt.objects.filter(pk=attempt.pk, status=CheckoutAttemptStatus.NEW).update(
        status=CheckoutAttemptStatus.OPEN
    ):
        attempt.session_id = attempt.session_id or session["id"]
        checkout_attempt_log_change(
            attempt, payment=attempt.payment, old=CheckoutAttemptStatus.NEW, new=CheckoutAttemptStatus.OPEN
        )
    return session["url"]


def checkout_redirect_url(*, appointment_id: int, site_url: str, now: dt.datetime | None = None) -> str:
    """Where to send the patient to pay for a held appointment (the first time, or to resume).

    Reuses the latest attempt's session while Stripe says it is open; otherwise starts a new
    attempt with a new key and a hold extended to match, never past HOLD_MAX_MINUTES from
    booking nor past the slot's start. A replaced session is closed at Stripe before the patient
    gets a new one. Network calls happen only outside transactions, and all of them together
    within the request's Stripe budget.
    """
    now = now or timezone.now()
    with stripe_api.time_budget(settings.STRIPE_REQUEST_BUDGET_SECONDS):
        return _checkout_redirect_url(appointment_id=appointment_id, site_url=site_url, now=now)


def _checkout_redirect_url(*, appointment_id: int, site_url: str, now: dt.datetime) -> str:
    appointment = Appointment.objects.select_related("payment", "patient").get(pk=appointment_id)
    _require_live_hold(appointment, now)
    attempt, *older = appointment.payment.checkout_attempts.all()[:2]
    if attempt.session_id and attempt.status == CheckoutAttemptStatus.OPEN:
        if attempt.expires_at > now + SESSION_REUSE_MARGIN:
            session = _stripe_or_unavailable(stripe_api.checkout_session_retrieve, attempt.session_id)
            if session["status"] == "open":
                return session["url"]
            _session_record(session, now=now)  # it was paid or expired meanwhile
            appointment.refresh_from_db()
            _require_live_hold(appointment, now)
    elif not attempt.session_id and attempt.expires_at > now + STRIPE_MIN_SESSION_LIFETIME:
        if older:  # an earlier "resume" may have left the session it replaced open
            _replaced_sessions_close(appointment, now=now)
        return _session_for_attempt(attempt, patient=appointment.patient)
    # A new attempt first, then close the old session: its "expired" event then finds a newer
    # attempt and leaves the hold alone.
    new_attempt = _attempt_renew(appointment_id=appointment_id, replacing=attempt, site_url=site_url, now=now)
    _replaced_sessions_close(appointment, now=now)
    return _session_for_attempt(new_attempt, patient=appointment.patient)


def _replaced_sessions_close(appointment: Appointment, *, now: dt.datetime) -> None:
    """Close at Stripe every replaced session still to be closed, before opening another one, so
    the patient never has two payable pages. If Stripe cannot be reached the closing stays
    recorded for the worker and the patient is asked to try again."""
    closings = SessionClosing.objects.filter(SESSION_CLOSE_PENDING, attempt__payment__appointment=appointment)
    for closing in closings.select_related("attempt"):
        _session_close(closing, now=now)
        appointment.refresh_from_db()
        _require_live_hold(appointment, now)  # the old session may have been paid after all


def _session_close(closing: SessionClosing, *, now: dt.datetime) -> None:
    _expire_session_at_stripe(closing.attempt)
    SessionClosing.objects.filter(pk=closing.pk).update(closed_at=now, claimed_until=None, last_error="")


def session_close(*, closing_id: int, now: dt.datetime | None = None) -> None:
    """Worker: close a replaced session at Stripe once it can be reached (outside transactions)."""
    now = now or timezone.now()
    closing = outbox.claim(SessionClosing, SESSION_CLOSE_PENDING, closing_id, now=now)
    if closing is None:
        return
    try:
        _session_close(closing, now=now)
    except PaymentUnavailable as exc:
        outbox.release_for_retry(closing, str(exc.__cause__ or exc), now=now)
        raise


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
        appointment, payment = lock_payment(appointment_id)
        _require_live_hold(appointment, now)
        latest = payment.checkout_attempts.first()
        if latest.pk != replacing.pk:
            return latest  # a second click got here first: use its attempt, do not extend twice
        if hold_until > appointment.slot.starts_at:
            # A new payment page would still be open when the visit starts.
            raise BookingError(
                "It is too close to the appointment's start to pay online now, so this booking cannot be "
                "paid for. Please choose a later time."
            )
        if hold_until > appointment.created_at + dt.timedelta(minutes=settings.HOLD_MAX_MINUTES):
            raise BookingError(
                "This slot has been held for as long as we can. Cancel this booking and book again to pay."
            )
        appointment.hold_expires_at = hold_until
        appointment.save(update_fields=["hold_expires_at", "updated_at"])
        attempt = _attempt_create(payment=payment, checkout_expires_at=checkout_expires_at, site_url=site_url)
        if replacing.session_id and replacing.status == CheckoutAttemptStatus.OPEN:
            # Recorded with the new attempt, so it is closed even if Stripe is down right now.
            outbox.enqueue(SessionClosing.objects.create(attempt=replacing))
        appointment_log(appointment=appointment, message="Payment restarted; the hold was extended.", now=now)
    return attempt


def _expire_session_at_stripe(attempt: CheckoutAttempt) -> None:
    """Close an open session before replacing or abandoning it, so it cannot be paid as well."""
    if not CheckoutAttempt.objects.filter(pk=attempt.pk, status=CheckoutAttemptStatus.OPEN).exists():
        return  # its expiry or payment was recorded meanwhile
    try:
        stripe_api.checkout_session_expire(attempt.session_id)
    except StripeRejected:
        # Already complete or expired at Stripe: record which, as its own event would.
        session = _stripe_or_unavailable(stripe_api.checkout_session_retrieve, attempt.session_id)
        _session_record(session)
    except StripeUnavailable as exc:
        raise PaymentUnavailable(UNAVAILABLE_MESSAGE) from exc
    if CheckoutAttempt.objects.filter(pk=attempt.pk, status=CheckoutAttemptStatus.OPEN).update(
        status=CheckoutAttemptStatus.EXPIRED
    ):
        checkout_attempt_log_change(
            attempt, payment=attempt.payment, old=CheckoutAttemptStatus.OPEN, new=CheckoutAttemptStatus.EXPIRED
        )


def hold_cancel(*, appointment_id: int) -> Appointment:
    """The patient gives up an unpaid hold: close its open session at Stripe first, so it cannot be
    paid afterwards, then release the slot. If Stripe cannot be reached the hold stays."""
    appointment = Appointment.objects.select_related("payment").get(pk=appointment_id)
    with stripe_api.time_budget(settings.STRIPE_REQUEST_BUDGET_SECONDS):
        for attempt in appointment.payment.checkout_attempts.filter(status=CheckoutAttemptStatus.OPEN):
            _expire_session_at_stripe(attempt)
    return appointment_cancel_hold(appointment_id=appointment_id)


def checkout_success(*, appointment: Appointment, session_id: str) -> None:
    """The success page: the query string is not trusted; the session is fetched from Stripe and
    recorded exactly as its webhook would be."""
    if not appointment.payment.checkout_attempts.filter(session_id=session_id).exists():
        raise BookingError("That payment does not belong to this appointment.")
    try:
        with stripe_api.time_budget(settings.STRIPE_REQUEST_BUDGET_SECONDS):
            session = stripe_api.checkout_session_retrieve(session_id)
    except (StripeUnavailable, StripeRejected) as exc:
        raise PaymentUnavailable(WAITING_MESSAGE) from exc
    _session_record(session)


def _session_record(session: dict, *, now: dt.datetime | None = None) -> None:
    """Record a session we fetched ourselves, as its webhook would. One Stripe sends in a shape we
    cannot use is for staff (logged; its webhook is recorded as unusable): the patient waits."""
    try:
        checkout_session_record(session=session, now=now)
    except UnusableStripeObject as exc:
        logger.error("Checkout session %s fetched from Stripe is unusable: %s", session.get("id"), exc)
        raise PaymentUnavailable(WAITING_MESSAGE) from exc
