"""Query counts of the two busiest writes, pinned: a booking POST and one webhook delivery."""

import copy
import secrets

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import PatientFactory, SlotFactory
from tests.payments.flows import Flow
from tests.payments.stripe_events import post_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]

# A booking: rate limit, slot page data, the booking transaction (lock slot, expire lapsed holds,
# holder, patient lock and hold count, appointment, log, the policy in force, payment, attempt) and
# the session after it.
BOOKING_QUERIES = 21
# One refund event: dj-stripe's trigger, event and synced objects, then our locks (the payment
# intent's row, made if new, then slot, appointment, payment), rows and reconcile (which looks up
# the receipt and the refunds still without a credit note: one query each, however many refunds).
REFUND_EVENT_QUERIES = 30


def book(client, slot):
    return client.post(reverse("appointments:book", args=[slot.pk]), {"reason": ""})


def test_a_booking_post_makes_a_fixed_number_of_queries(standin, client):
    patient = PatientFactory()
    client.force_login(patient)
    first_slot, second_slot = SlotFactory(), SlotFactory()
    assert book(client, first_slot).status_code == 303  # the first one also creates the Stripe customer

    with CaptureQueriesContext(connection) as queries:
        response = book(client, second_slot)

    assert response.status_code == 303
    assert len(queries) == BOOKING_QUERIES


def refund_event_queries(standin, client, *, refunds: int) -> int:
    """Pay, make `refunds` small refunds in Stripe's Dashboard and deliver their events; then count
    the queries of one more delivery of the last refund's event, told again under a new id."""
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    for _ in range(refunds):
        standin.refund(flow.payment_intent_id, amount=100)
    events = flow.events()
    flow.deliver(events)
    again = copy.deepcopy([event for event in events if event["type"] == "refund.created"][-1])
    again["id"] = "evt_" + secrets.token_hex(12)
    with CaptureQueriesContext(connection) as queries:
        response = post_event(client, again)
    assert response.status_code == 200
    return len(queries)


def test_one_webhook_delivery_makes_the_same_queries_with_one_refund_or_five(standin, client):
    with_one = refund_event_queries(standin, client, refunds=1)
    with_five = refund_event_queries(standin, client, refunds=5)

    assert with_one == with_five == REFUND_EVENT_QUERIES
