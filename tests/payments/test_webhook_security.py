"""Events that are not Stripe's, or not intact, are refused and change nothing."""

import json
import time

import pytest
from djstripe.models import Event, WebhookEventTrigger

from appointments.models import AppointmentStatus
from payments.models import PaymentStatus
from payments.webhooks import webhook_endpoint_ensure
from tests.factories import SlotFactory, hold_slot
from tests.payments.stripe_events import post_event, stripe_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def held_appointment(patient):
    webhook_endpoint_ensure(base_url="http://testserver")
    return hold_slot(patient=patient, slot=SlotFactory())


def completed_event(appointment) -> dict:
    """A realistic checkout.session.completed that would confirm the appointment if accepted."""
    payment = appointment.payment
    return {
        "id": "evt_forged0001",
        "object": "event",
        "api_version": "2026-08-26.dahlia",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_forged0001",
                "object": "checkout.session",
                "amount_total": payment.amount,
                "currency": payment.currency,
                "client_reference_id": str(appointment.pk),
                "metadata": {"hospital_appointment_id": str(appointment.pk), "hospital_payment_id": str(payment.pk)},
                "mode": "payment",
                "payment_intent": "pi_forged0001",
                "payment_status": "paid",
                "status": "complete",
                "livemode": False,
                "created": int(time.time()),
            }
        },
    }


def assert_nothing_changed(appointment) -> None:
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.PENDING_PAYMENT
    assert appointment.payment.status == PaymentStatus.UNPAID
    assert appointment.payment.captured_amount == 0
    assert Event.objects.count() == 0


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(
    "attack",
    ["unsigned", "wrong-secret", "tampered-body", "stale", "malformed-json", "forged-debug-header"],
)
def test_rejected_events_change_nothing(client, settings, held_appointment, attack, debug):
    settings.DEBUG = debug
    event = completed_event(held_appointment)
    body = json.dumps(event).encode()
    if attack == "unsigned":
        response = client.post(
            "/stripe/webhook/" + settings.STRIPE_WEBHOOK_UUID + "/", data=body, content_type="application/json"
        )
    elif attack == "wrong-secret":
        response = post_event(client, body, secret="whsec_somebody_else")
    elif attack == "tampered-body":
        signature = stripe_signature(body)
        response = post_event(client, body.replace(b'"paid"', b'"PAID"', 1), signature=signature)
    elif attack == "stale":
        response = post_event(client, body, timestamp=int(time.time()) - 3600)
    elif attack == "malformed-json":
        response = post_event(client, b'{"id": "evt_1", "livemode": false, ')
    else:
        # dj-stripe, with DEBUG on, would verify against this header's secret instead of ours.
        response = post_event(
            client, body, secret="whsec_attacker", headers={"X-Djstripe-Webhook-Secret": "whsec_attacker"}
        )

    assert response.status_code == 400
    assert_nothing_changed(held_appointment)


def test_an_oversized_body_is_refused_before_dj_stripe_stores_it(client, held_appointment):
    event = completed_event(held_appointment)
    event["data"]["object"]["padding"] = "x" * 300_000
    response = post_event(client, event)
    assert response.status_code == 413
    assert WebhookEventTrigger.objects.count() == 0
    assert_nothing_changed(held_appointment)


def test_an_unknown_endpoint_uuid_is_404(client, held_appointment):
    body = json.dumps(completed_event(held_appointment)).encode()
    response = client.post(
        "/stripe/webhook/00000000-0000-0000-0000-000000000000/",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": stripe_signature(body)},
    )
    assert response.status_code == 404
    assert_nothing_changed(held_appointment)


def test_the_forged_secret_header_is_removed_from_every_request(rf):
    from payments.middleware import StripeWebhookGuardMiddleware

    seen = {}
    middleware = StripeWebhookGuardMiddleware(lambda request: seen.update(request.headers) or None)
    middleware(rf.post("/anything/", headers={"X-Djstripe-Webhook-Secret": "whsec_attacker"}))
    assert "X-Djstripe-Webhook-Secret" not in seen


def test_the_setup_command_stores_the_endpoint_and_links_the_key_to_its_account(standin):
    from django.core.management import call_command
    from djstripe.models import APIKey, WebhookEndpoint

    call_command("stripe_webhook_setup", base_url="https://hospital.example.org")
    call_command("stripe_webhook_setup", base_url="https://hospital.example.org")  # idempotent

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url.startswith("https://hospital.example.org/stripe/webhook/")
    assert endpoint.secret == "whsec_test_suite_secret"
    key = APIKey.objects.get()
    assert key.djstripe_owner_account.id == standin.get("account")["id"]
