"""dj-stripe event receivers: thin. Each reads the event's own payload (dj-stripe's re-fetch gives
the object as it is now, which may be newer than the event) and calls one idempotent service.

They run inside dj-stripe's transaction: an exception rolls back the event and answers 500, so
Stripe delivers it again and the failed trigger stays visible to staff in the admin. That is only
for what a retry can fix (the database or Stripe down, a unique-key race). A signed event whose
object we cannot use (UnusableStripeObject, raised where the object enters, before any write) is
recorded for staff and acknowledged instead: no retry can change what it says.

`HANDLED_EVENTS` is the one list of the events we act on: the webhook endpoint subscribes to it
(payments/webhooks.py) and a test holds the Stripe stand-in's copy equal to it.
"""

import functools

from djstripe.event_handlers import djstripe_receiver

from hospital.log_context import log_fields
from payments import services
from payments.stripe_objects import UnusableStripeObject

HANDLED_EVENTS: list[str] = []


def handles(*event_types: str):
    """djstripe_receiver, also writing the event types down in HANDLED_EVENTS."""
    HANDLED_EVENTS.extend(event_types)
    return djstripe_receiver(list(event_types))


def acknowledging_unusable(receiver):
    """Catch exactly UnusableStripeObject: record the event for staff and let dj-stripe answer 2xx.
    Database errors are not caught: a retry may fix them."""

    @functools.wraps(receiver)
    def receive(sender, event, **kwargs):
        try:
            # Every log line of the event's work names it (the money changes it makes, above all).
            with log_fields(stripe_event_id=event.id, stripe_event_type=event.type):
                receiver(sender, event, **kwargs)
        except UnusableStripeObject as unusable:
            services.unusable_event_record(
                event_id=event.id,
                event_type=event.type,
                object_id=(event.data.get("object") or {}).get("id") or "",
                reason=unusable.reason,
            )

    return receive


@handles(
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)
@acknowledging_unusable
def on_checkout_session(sender, event, **kwargs):
    services.checkout_session_record(
        session=event.data["object"], async_failed=event.type == "checkout.session.async_payment_failed"
    )


@handles("payment_intent.payment_failed")
@acknowledging_unusable
def on_payment_intent_failed(sender, event, **kwargs):
    services.payment_intent_failure_record(payment_intent=event.data["object"])


@handles("charge.refunded")
@acknowledging_unusable
def on_charge_refunded(sender, event, **kwargs):
    services.charge_record(charge=event.data["object"])


@handles("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
@acknowledging_unusable
def on_refund(sender, event, **kwargs):
    services.refund_record(refund=event.data["object"])


@handles("charge.dispute.created", "charge.dispute.closed")
@acknowledging_unusable
def on_dispute(sender, event, **kwargs):
    services.dispute_record(dispute=event.data["object"])
