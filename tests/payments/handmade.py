"""Hand-made Stripe events: validly signed (tests/payments/stripe_events.post_event signs them as
Stripe does) but with contents Stripe could send and the stand-in never produces. Their objects'
ids are unknown to the stand-in, so dj-stripe's re-fetch gets a 404, which it skips, and our
receivers still read the event's own payload."""

from __future__ import annotations

import secrets
import time

import stripe

from tests.payments.flows import Flow


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def event(event_type: str, obj: dict) -> dict:
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def dispute(flow: Flow | None = None, *, status: str = "needs_response", **fields) -> dict:
    """A dispute of the flow's charge (or of a charge unknown to us), in Stripe's shape."""
    obj = {
        "id": new_id("dp"),
        "object": "dispute",
        "amount": 5000,
        "charge": flow.charge_id if flow else new_id("ch"),
        "created": int(time.time()),
        "currency": "usd",
        "livemode": False,
        "metadata": {},
        "payment_intent": flow.payment_intent_id if flow else new_id("pi"),
        "reason": "fraudulent",
        "status": status,
    }
    return {**obj, **fields}


def refund(**fields) -> dict:
    obj = {
        "id": new_id("re"),
        "object": "refund",
        "amount": 1000,
        "charge": new_id("ch"),
        "created": int(time.time()),
        "currency": "usd",
        "metadata": {},
        "payment_intent": new_id("pi"),
        "reason": None,
        "status": "succeeded",
    }
    return {**obj, **fields}


def someone_elses_customer(standin) -> str:
    """A Stripe Customer at the stand-in that is no patient's of ours (dj-stripe fetches it)."""
    return stripe.Customer.create(email="someone@example.com", api_key=standin.process.api_key)["id"]


def paid_flow(standin, client) -> Flow:
    """A booking paid at the stand-in, its events delivered: CONFIRMED and PAID."""
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    return flow
