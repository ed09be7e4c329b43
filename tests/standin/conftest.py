"""One stand-in process and one webhook receiver for the module's tests, reset before each test."""

import time

import pytest
import stripe

from stripe_standin.config import DEFAULT_ENABLED_EVENTS
from stripe_standin.testing import StandinProcess

from .helpers import WebhookReceiver


@pytest.fixture(scope="session")
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def standin_process(receiver):
    with StandinProcess(webhook_url=receiver.url) as process:
        yield process


@pytest.fixture
def standin(standin_process, receiver):
    """A clean stand-in: no objects, no switches, webhooks to `receiver`, quick retries."""
    standin_process.reset()
    standin_process.configure(
        webhook_url=receiver.url,
        webhook_secret=standin_process.webhook_secret,
        enabled_events=list(DEFAULT_ENABLED_EVENTS),
        webhook_max_attempts=4,
        webhook_retry_seconds=0.05,
    )
    receiver.clear()
    yield standin_process
    standin_process.wait_idle(timeout=5)


@pytest.fixture
def stripe_client(standin):
    return stripe.StripeClient(standin.api_key, base_addresses={"api": standin.url}, max_network_retries=0)


@pytest.fixture
def customer(stripe_client):
    return stripe_client.v1.customers.create(params={"email": "pat@example.com", "name": "Pat Patient"})


def session_params(customer_id: str | None = None, **overrides) -> dict:
    """What the app sends to create a Checkout Session (DESIGN §4 step 2)."""
    params = {
        "mode": "payment",
        "payment_method_types": ["card"],
        "line_items": [
            {
                "price_data": {"currency": "usd", "unit_amount": 5000, "product_data": {"name": "Consultation"}},
                "quantity": 1,
            }
        ],
        "expires_at": int(time.time()) + 35 * 60,
        "client_reference_id": "appointment-1",
        "metadata": {"appointment_id": "1", "payment_id": "7"},
        "success_url": "http://hospital.test/pay/done?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://hospital.test/pay/cancel",
    }
    if customer_id:
        params["customer"] = customer_id
    params.update(overrides)
    return params


@pytest.fixture
def new_session(stripe_client, customer):
    def create(**overrides):
        return stripe_client.v1.checkout.sessions.create(params=session_params(customer.id, **overrides))

    return create


@pytest.fixture
def paid_charge(stripe_client, standin, new_session):
    """A charge for $50.00 paid with 4242 through the hosted page's flow."""
    session = new_session()
    result = standin.pay(session.id)
    return stripe_client.v1.charges.retrieve(result["payment_intent"]["latest_charge"])
