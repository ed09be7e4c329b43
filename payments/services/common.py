"""What every part of the payments services shares: keys, the patient-facing error, staff alerts."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db.models import Q

from accounts.models import StaffGroup, User
from appointments.services import BookingError
from hospital.money_log import log_money_change
from hospital.notifications import email_queue
from payments.models import CheckoutAttempt, Payment, Refund

# Stripe keeps an idempotency key for 24 hours; after that a retry must look before it leaps.
IDEMPOTENCY_KEY_LIFETIME = dt.timedelta(hours=24)
UNAVAILABLE_MESSAGE = "We could not reach our payment provider just now. Your slot is still held; please try again."


class PaymentUnavailable(BookingError):
    """Stripe could not be reached; the hold stays and the patient may try again."""


def new_key(prefix: str) -> str:
    """A fresh idempotency key: each one names exactly one request we mean to make once."""
    return f"{prefix}-{secrets.token_urlsafe(24)}"


def payment_log_ids(payment: Payment | None, *, payment_intent_id: str = "") -> dict[str, object]:
    """What names a payment in the log lines of its changes (hospital.money_log). A refund or a
    dispute names its own payment intent: a duplicate payment's, or one not yet attached."""
    ids: dict[str, object] = {"payment_intent_id": payment_intent_id or (payment and payment.payment_intent_id)}
    if payment is not None:
        ids.update(appointment_id=payment.appointment_id, payment_id=payment.pk)
    return ids


def refund_log_change(refund: Refund, *, old: str) -> None:
    """A refund row was made (`old` "") or its status moved."""
    log_money_change(
        "refund",
        refund.pk,
        old=old,
        new=refund.status,
        **payment_log_ids(refund.payment, payment_intent_id=refund.payment_intent_id),
        stripe_refund_id=refund.stripe_refund_id,
        amount=refund.amount,
        currency=refund.currency,
        reason=refund.reason,
        reissue_of=refund.reissue_of_id,
    )


def checkout_attempt_log_change(attempt: CheckoutAttempt, *, payment: Payment, old: str, new: str) -> None:
    log_money_change(
        "checkout_attempt",
        attempt.pk,
        old=old,
        new=new,
        **payment_log_ids(payment),
        checkout_session_id=attempt.session_id,
    )


def tell_staff(*, key: str, subject: str, template: str, context: dict, billing_only: bool = False) -> None:
    """An e-mail to every active staff member, once per `key`; with `billing_only`, to the billing
    group (and superusers) alone: money news that is theirs to act on."""
    staff = User.objects.filter(is_staff=True, is_active=True)
    if billing_only:
        staff = staff.filter(Q(groups__name=StaffGroup.BILLING) | Q(is_superuser=True)).distinct()
    for email in staff.values_list("email", flat=True):
        email_queue(key=f"{key}:{email}", to=email, subject=subject, template=template, context=context)
