"""dj-stripe 2.11 syncs everything the stand-in produces, the way it does on a real webhook.

Each test drives one flow against a stand-in that posts every event type to a local receiver,
then feeds each received body to `djstripe.models.Event.process` (what dj-stripe's webhook view
does after checking the signature) and syncs each object from a retrieve with dj-stripe's own
`expand_fields`. Missing or null fields dj-stripe relies on show up here as exceptions.
"""

import json
import time
import weakref
from contextlib import contextmanager

import pytest
import stripe
from django.conf import settings
from djstripe import models as djstripe_models
from djstripe.signals import WEBHOOK_SIGNALS

from stripe_standin.testing import StandinProcess

from .conftest import session_params
from .helpers import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def standin_for_djstripe():
    receiver = WebhookReceiver()
    # The suite's key: dj-stripe reads it from settings and accepts only real-looking keys.
    with StandinProcess(
        api_key=settings.STRIPE_SECRET_KEY, webhook_url=receiver.url, extra_args=("--enabled-events", "*")
    ) as standin:
        yield standin, receiver
    receiver.stop()


@pytest.fixture
def djstripe_receiver(standin_for_djstripe) -> WebhookReceiver:
    return standin_for_djstripe[1]


@pytest.fixture
def standin(standin_for_djstripe, djstripe_receiver):
    standin, receiver = standin_for_djstripe
    standin.reset()
    receiver.clear()
    saved = stripe.api_base, stripe.api_key
    stripe.api_base, stripe.api_key = standin.url, standin.api_key
    with only_djstripe_handlers():
        yield standin
    stripe.api_base, stripe.api_key = saved
    standin.wait_idle()


@contextmanager
def only_djstripe_handlers():
    """Run dj-stripe's own handlers only: the project's receivers have their own tests (tests/payments)."""

    def module_of(receiver) -> str:
        function = receiver() if isinstance(receiver, weakref.ReferenceType) else receiver
        return getattr(function, "__module__", "") or ""

    saved = {name: list(signal.receivers) for name, signal in WEBHOOK_SIGNALS.items()}
    for signal in WEBHOOK_SIGNALS.values():
        signal.receivers = [r for r in signal.receivers if module_of(r[1]).startswith("djstripe.")]
        signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for name, signal in WEBHOOK_SIGNALS.items():
            signal.receivers = saved[name]
            signal.sender_receivers_cache.clear()


def process_delivered_events(standin, receiver: WebhookReceiver) -> list[djstripe_models.Event]:
    """Feed every webhook the stand-in sent to dj-stripe, in order, as its webhook view would.

    Each one first passes dj-stripe's own signature check (the one its webhook view runs).
    """
    assert standin.wait_idle()
    events = []
    for request in receiver.requests:
        trigger = djstripe_models.WebhookEventTrigger(headers=request["headers"], body=request["body"].decode())
        assert trigger.verify_signature(secret=standin.webhook_secret, tolerance=300)
        events.append(djstripe_models.Event.process(json.loads(request["body"])))
    return events


def create_session(customer_id: str) -> stripe.checkout.Session:
    params = session_params(customer_id, expires_at=int(time.time()) + 35 * 60)
    return stripe.checkout.Session.create(**params)


def test_a_paid_refunded_and_disputed_payment_syncs(standin, djstripe_receiver):
    account = djstripe_models.Account.sync_from_stripe_data(stripe.Account.retrieve())
    assert str(account) == "Stand-in Hospital"

    customer = stripe.Customer.create(email="pat@example.com", name="Pat", metadata={"user_id": "1"})
    synced_customer = djstripe_models.Customer.sync_from_stripe_data(
        stripe.Customer.retrieve(customer.id, expand=djstripe_models.Customer.expand_fields)
    )
    assert synced_customer.email == "pat@example.com"

    session = create_session(customer.id)
    standin.pay(session.id, card="4000000000000002")  # declined first
    standin.pay(session.id)  # then paid

    synced = djstripe_models.Session.sync_from_stripe_data(
        stripe.checkout.Session.retrieve(session.id, expand=djstripe_models.Session.expand_fields)
    )
    assert (synced.status, synced.payment_status, synced.amount_total) == ("complete", "paid", 5000)
    assert synced.customer.id == customer.id
    intent = synced.payment_intent
    assert intent.stripe_data["status"] == "succeeded"
    assert intent.payment_method.stripe_data["card"]["last4"] == "4242"
    assert synced.line_items["data"][0]["description"] == "Consultation"

    charge_id = intent.stripe_data["latest_charge"]
    first = stripe.Refund.create(charge=charge_id, amount=2000, metadata={"refund_id": "1"})
    stripe.Refund.create(payment_intent=intent.id, amount=1000)

    # As on Stripe since API 2022-11-15, a charge lists its refunds only when asked to.
    charge = djstripe_models.Charge.sync_from_stripe_data(
        stripe.Charge.retrieve(charge_id, expand=djstripe_models.Charge.expand_fields)
    )
    assert charge.amount_refunded == 3000
    assert charge.balance_transaction.stripe_data["net"] == 5000 - 175
    assert charge.refunds.count() == 0
    charge = djstripe_models.Charge.sync_from_stripe_data(
        stripe.Charge.retrieve(charge_id, expand=[*djstripe_models.Charge.expand_fields, "refunds"])
    )
    assert charge.refunds.count() == 2
    refund = djstripe_models.Refund.sync_from_stripe_data(stripe.Refund.retrieve(first.id))
    assert (refund.amount, refund.charge_id, refund.status) == (2000, charge.id, "succeeded")
    assert refund.balance_transaction.amount == -2000

    dispute = standin.control(f"/charges/{charge_id}/dispute", reason="fraudulent")
    standin.control(f"/disputes/{dispute['id']}/close", status="won")
    synced_dispute = djstripe_models.Dispute.sync_from_stripe_data(stripe.Dispute.retrieve(dispute["id"]))
    assert synced_dispute.status == "won"
    assert synced_dispute.charge_id == charge_id

    events = process_delivered_events(standin, djstripe_receiver)

    assert [e.type for e in events] == [
        "customer.created",
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
        "charge.refunded",
        "refund.created",
        "charge.refunded",
        "refund.created",
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
    ]
    assert djstripe_models.Event.objects.count() == len(events)
    assert all(e.idempotency_key for e in events if e.type == "refund.created")
    charge.refresh_from_db()
    assert charge.stripe_data["disputed"] is True
    assert djstripe_models.Charge.objects.filter(status="failed").count() == 1
    assert djstripe_models.BalanceTransaction.objects.filter(type="adjustment").count() == 2


def test_an_expired_session_and_a_failed_refund_sync(standin, djstripe_receiver):
    customer = stripe.Customer.create(email="pat@example.com")
    session = create_session(customer.id)
    standin.pay(session.id, card="4000002500003155")  # waits for authentication, then abandoned
    other = create_session(customer.id)
    intent = standin.pay(other.id)["payment_intent"]
    refund = stripe.Refund.create(payment_intent=intent["id"])
    standin.control(f"/refunds/{refund.id}/fail")
    standin.advance_clock(36 * 60)

    events = process_delivered_events(standin, djstripe_receiver)

    assert [e.type for e in events] == [
        "customer.created",
        "payment_intent.created",
        "payment_intent.requires_action",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
        "charge.refunded",
        "refund.created",
        "refund.updated",
        "charge.refund.updated",
        "refund.failed",
        "payment_intent.canceled",
        "checkout.session.expired",
    ]
    expired = djstripe_models.Session.objects.get(id=session.id)
    assert expired.status == "expired"
    assert expired.payment_intent.stripe_data["status"] == "canceled"
    failed = djstripe_models.Refund.sync_from_stripe_data(stripe.Refund.retrieve(refund.id))
    assert failed.status == "failed" and failed.failure_balance_transaction.amount == 5000
    charge = djstripe_models.Charge.sync_from_stripe_data(stripe.Charge.retrieve(intent["latest_charge"]))
    assert charge.amount_refunded == 0


def test_a_delayed_payment_syncs(standin, djstripe_receiver):
    session = stripe.checkout.Session.create(**session_params(customer_email="pat@example.com"))
    standin.control(f"/checkout/sessions/{session.id}/pay_async")
    standin.control(f"/checkout/sessions/{session.id}/async_result", succeeded=True)

    events = process_delivered_events(standin, djstripe_receiver)

    assert [e.type for e in events] == [
        "payment_intent.created",
        "charge.pending",
        "payment_intent.processing",
        "checkout.session.completed",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.async_payment_succeeded",
    ]
    synced = djstripe_models.Session.objects.get(id=session.id)
    assert synced.payment_status == "paid"
    assert synced.customer is None
    assert synced.payment_intent.payment_method.type == "us_bank_account"
