"""When a hold must be paid by, told to appointments by the payments app above it.

A hold (`Appointment.hold_expires_at`) outlives its Checkout session by a grace period, so a
payment finished in the session's last second still finds it. Patients are only ever told the
session's expiry, and that is a fact of payments (its latest checkout attempt), which appointments
may not import. Payments registers at start-up (its AppConfig.ready) a query expression giving it
per appointment, so appointments' selectors read it in the same query as the rows they list.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Expression

_expression: Callable[[], Expression] | None = None


def register(*, expression: Callable[[], Expression]) -> None:
    """`expression()` is evaluated on Appointment rows: OuterRef("pk") is the appointment."""
    global _expression  # a registry of one, filled once at start-up
    _expression = expression


def annotation() -> Expression:
    if _expression is None:
        raise ImproperlyConfigured("No app registered the Checkout expiry (payments must be installed).")
    return _expression()
