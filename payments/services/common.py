"""What every part of the payments services shares: keys, the patient-facing error, staff alerts."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db.models import Q

from accounts.models import StaffGroup, User
from appointments.services import BookingError
from hospital.notifications import email_queue

# Stripe keeps an idempotency key for 24 hours; after that a retry must look before it leaps.
IDEMPOTENCY_KEY_LIFETIME = dt.timedelta(hours=24)
UNAVAILABLE_MESSAGE = "We could not reach our payment provider just now. Your slot is still held; please try again."


class PaymentUnavailable(BookingError):
    """Stripe could not be reached; the hold stays and the patient may try again."""


def new_key(prefix: str) -> str:
    """A fresh idempotency key: each one names exactly one request we mean to make once."""
    return f"{prefix}-{secrets.token_urlsafe(24)}"


def tell_staff(*, key: str, subject: str, template: str, context: dict, billing_only: bool = False) -> None:
    """An e-mail to every active staff member, once per `key`; with `billing_only`, to the billing
    group (and superusers) alone: money news that is theirs to act on."""
    staff = User.objects.filter(is_staff=True, is_active=True)
    if billing_only:
        staff = staff.filter(Q(groups__name=StaffGroup.BILLING) | Q(is_superuser=True)).distinct()
    for email in staff.values_list("email", flat=True):
        email_queue(key=f"{key}:{email}", to=email, subject=subject, template=template, context=context)
