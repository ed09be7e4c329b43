"""Money facts about appointments, told to appointments (and the apps above it) by payments.

Payments sits above appointments, so appointments may not import it; yet two of its facts shape
what appointments and prescriptions allow and show:

- when a hold must be paid by: a hold (`Appointment.hold_expires_at`) outlives its Checkout
  session by a grace period, so a payment finished in the session's last second still finds it,
  but patients are only ever told the session's expiry (its latest checkout attempt);
- whether a visit counts as paid (DESIGN §3 `is_paid`), which gates starting a visit, writing a
  prescription and reviewing it.

Payments registers both at start-up (its AppConfig.ready) as query expressions on Appointment
rows, so selectors read them in the same query as the rows they list and services check them in
one query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Expression, Q

from appointments.models import Appointment


@dataclass(frozen=True)
class _Facts:
    checkout_expiry: Callable[[], Expression]
    is_paid: Callable[[], Q]


_facts: _Facts | None = None


def register(*, checkout_expiry: Callable[[], Expression], is_paid: Callable[[], Q]) -> None:
    """`checkout_expiry()` is evaluated on Appointment rows (OuterRef("pk") is the appointment);
    `is_paid()` is a filter on Appointment rows."""
    global _facts  # a registry of one, filled once at start-up
    _facts = _Facts(checkout_expiry=checkout_expiry, is_paid=is_paid)


def _registered() -> _Facts:
    if _facts is None:
        raise ImproperlyConfigured("No app registered the payment facts (payments must be installed).")
    return _facts


def checkout_expiry() -> Expression:
    return _registered().checkout_expiry()


def is_paid() -> Q:
    """Filter for appointments whose visit counts as paid."""
    return _registered().is_paid()


def appointment_is_paid(appointment_id: int) -> bool:
    return Appointment.objects.filter(is_paid(), pk=appointment_id).exists()
