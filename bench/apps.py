from django.apps import AppConfig
from django.conf import settings


class BenchConfig(AppConfig):
    """Listed after `payments`, so its ready() runs once our receivers are connected."""

    name = "bench"

    def ready(self):
        if not settings.BENCH_PROJECT_RECEIVERS:
            disconnect_project_receivers()


def disconnect_project_receivers() -> int:
    """Bare dj-stripe: every receiver of payments/receivers.py off dj-stripe's webhook signals (they
    are connected with `receiver(signal, sender=Event)`, see djstripe.event_handlers.djstripe_receiver),
    so a webhook runs dj-stripe's own validation, re-fetch and sync and nothing of ours."""
    from djstripe.models import Event
    from djstripe.signals import WEBHOOK_SIGNALS

    from payments import receivers

    ours = [f for f in vars(receivers).values() if callable(f) and getattr(f, "__module__", "") == receivers.__name__]
    return sum(signal.disconnect(f, sender=Event) for signal in set(WEBHOOK_SIGNALS.values()) for f in ours)
