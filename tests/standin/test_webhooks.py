"""Webhook delivery: Stripe's signature, only enabled types, retries, and the misbehaviour switches."""

import time

import stripe


def _pay(standin, new_session) -> str:
    session = new_session()
    standin.pay(session.id)
    return session.id


def _enable_payment_events(standin):
    standin.configure(enabled_events=["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"])


def test_only_enabled_events_are_delivered_but_all_are_retrievable(stripe_client, standin, receiver, new_session):
    _pay(standin, new_session)
    standin.wait_idle()

    assert receiver.types() == ["checkout.session.completed"]
    events = stripe_client.v1.events.list()
    assert [e.type for e in events.data] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
        "customer.created",
    ]
    event = stripe_client.v1.events.retrieve(events.data[0].id)
    assert event.data.object.object == "checkout.session"
    assert event.pending_webhooks == 0  # delivered
    assert [e.type for e in stripe_client.v1.events.list(params={"type": "payment_intent.*"}).data] == [
        "payment_intent.succeeded",
        "payment_intent.created",
    ]
    log = {e["type"]: e for e in standin.events()}
    assert log["checkout.session.completed"]["delivery"] == "delivered"
    assert log["checkout.session.completed"]["attempts"][0]["status"] == 200
    assert log["charge.succeeded"]["delivery"] == "not_enabled"


def test_failed_deliveries_are_retried_with_the_same_body(standin, receiver, new_session):
    receiver.fail_next = 2
    _pay(standin, new_session)

    deliveries = receiver.wait_for(3)

    assert [d["answered"] for d in deliveries] == [500, 500, 200]
    assert deliveries[0]["body"] == deliveries[2]["body"]
    for delivery in deliveries:
        stripe.Webhook.construct_event(
            delivery["body"].decode(), delivery["headers"]["Stripe-Signature"], standin.webhook_secret
        )
    standin.wait_idle()
    [logged] = [e for e in standin.events() if e["type"] == "checkout.session.completed"]
    assert [a["status"] for a in logged["attempts"]] == [500, 500, 200]


def test_an_unreachable_endpoint_is_retried_then_given_up(standin, new_session):
    standin.configure(webhook_url="http://127.0.0.1:9/nobody-here/", webhook_max_attempts=2)
    _pay(standin, new_session)
    standin.wait_idle()

    [logged] = [e for e in standin.events() if e["type"] == "checkout.session.completed"]
    assert logged["delivery"] == "failed"
    assert len(logged["attempts"]) == 2
    assert logged["attempts"][0]["error"]


def test_duplicate_delivers_every_event_twice(standin, receiver, new_session):
    standin.configure(duplicate=True)
    _pay(standin, new_session)

    first, second = receiver.wait_for(2)

    assert first["body"] == second["body"]


def test_reorder_reverses_each_batch(standin, receiver, new_session):
    _enable_payment_events(standin)
    standin.configure(reorder=True)
    _pay(standin, new_session)

    receiver.wait_for(3)

    assert receiver.types() == ["checkout.session.completed", "payment_intent.succeeded", "charge.succeeded"]


def test_withheld_events_wait_for_deliver(standin, receiver, new_session):
    standin.configure(withhold=True)
    first = _pay(standin, new_session)
    second = _pay(standin, new_session)
    standin.wait_idle()
    assert receiver.requests == []

    released = standin.control("/deliver", order="reverse", twice=True)

    assert released == {"released": 2}
    receiver.wait_for(4)
    assert [e["data"]["object"]["id"] for e in receiver.events()] == [second, second, first, first]


def test_delay_holds_delivery_back(standin, receiver, new_session):
    standin.configure(delay_seconds=0.5)
    started = time.monotonic()
    _pay(standin, new_session)
    assert receiver.wait_for(1, timeout=0.2) == []

    receiver.wait_for(1, timeout=3)

    assert len(receiver.requests) == 1
    assert time.monotonic() - started >= 0.5
