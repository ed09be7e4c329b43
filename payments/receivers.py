"""dj-stripe event receivers: thin. Each reads the event's own payload (dj-stripe's re-fetch gives
the object as it is now, which may be newer than the event) and calls one idempotent service.

They run inside dj-stripe's transaction: an exception rolls back the event and answers 500, so
Stripe delivers it again and the failed trigger stays visible to staff in the admin.

`HANDLED_EVENTS` is the one list of the events we act on: the webhook endpoint subscribes to it
(payments/webhooks.py) and a test holds the Stripe stand-in's copy equal to it.
"""

from djstripe.event_handlers import djstripe_receiver

from payments import services

HANDLED_EVENTS: list[str] = []


def handles(*event_types: str):
    """djstripe_receiver, also writing the event types down in HANDLED_EVENTS."""
    HANDLED_EVENTS.extend(event_types)
    return djstripe_receiver(list(event_types))


@handles(
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)
def on_checkout_session(sender, event, **kwargs):
    services.checkout_session_record(
        session=event.data["object"], async_failed=event.type == "checkout.session.async_payment_failed"
    )


@handles("payment_intent.payment_failed")
def on_payment_intent_failed(sender, event, **kwargs):
    services.payment_intent_failure_record(payment_intent=event.data["object"])


@handles("charge.refunded")
def on_charge_refunded(sender, event, **kwargs):
    services.charge_record(charge=event.data["object"])


@handles("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
def on_refund(sender, event, **kwargs):
    services.refund_record(refund=event.data["object"])


@handles("charge.dispute.created", "charge.dispute.closed")
def on_dispute(sender, event, **kwargs):
    services.dispute_record(dispute=event.data["object"])
