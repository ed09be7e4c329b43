from django.conf import settings
from django.core.checks import Error, register


@register()
def booking_hold_settings(app_configs, **kwargs):
    """Stripe accepts a Checkout Session's expires_at 30 minutes to 24 hours after it receives the
    request; a shorter setting would make every first attempt fail."""
    errors = []
    if not 31 <= settings.CHECKOUT_SESSION_MINUTES <= 1440:
        errors.append(
            Error(
                f"CHECKOUT_SESSION_MINUTES is {settings.CHECKOUT_SESSION_MINUTES}; it must be from 31 to 1440.",
                id="payments.E001",
            )
        )
    if settings.HOLD_MAX_MINUTES < settings.CHECKOUT_SESSION_MINUTES + settings.HOLD_GRACE_MINUTES:
        errors.append(
            Error(
                "HOLD_MAX_MINUTES must be at least CHECKOUT_SESSION_MINUTES + HOLD_GRACE_MINUTES.", id="payments.E002"
            )
        )
    hold = settings.CHECKOUT_SESSION_MINUTES + settings.HOLD_GRACE_MINUTES
    if hold > settings.BOOKING_CLOSES_MINUTES_BEFORE_START:
        # A hold made just before the cut-off would otherwise outlive the slot's start.
        errors.append(
            Error(
                f"BOOKING_CLOSES_MINUTES_BEFORE_START is {settings.BOOKING_CLOSES_MINUTES_BEFORE_START}; it must be "
                f"at least CHECKOUT_SESSION_MINUTES + HOLD_GRACE_MINUTES ({hold}).",
                id="payments.E003",
            )
        )
    return errors
