"""The hosted pay page: accessible form, the three test cards, and field errors like a card form's."""

import re

import pytest
import stripe

from .conftest import session_params
from .helpers import http_request

CARD = {"card_expiry": "12 / 40", "card_cvc": "123", "card_name": "Pat Patient"}


def test_the_page_is_a_labelled_card_form(standin, new_session):
    session = new_session()

    status, headers, html = http_request(session.url)

    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "Test payment page — Stripe stand-in, no real money moves" in html
    assert "Stand-in Hospital" in html
    assert "Consultation" in html and "$50.00" in html
    assert 'value="pat@example.com"' in html and "readonly" in html
    assert re.search(r'<input id="card_number"[^>]*autocomplete="cc-number"[^>]*inputmode="numeric"', html)
    assert 'autocomplete="cc-exp"' in html and 'placeholder="MM / YY"' in html
    assert 'autocomplete="cc-csc"' in html and 'autocomplete="cc-name"' in html
    for field in ("email", "card_number", "card_expiry", "card_cvc", "card_name"):
        assert f'<label for="{field}">' in html
    assert "Pay $50.00</button>" in html
    assert '<a class="back" href="http://hospital.test/pay/cancel">← Back</a>' in html
    assert "4242 4242 4242 4242" in html and "<script" not in html


def test_zero_decimal_currencies_have_no_cents(stripe_client, customer):
    items = [
        {
            "price_data": {"currency": "jpy", "unit_amount": 5000, "product_data": {"name": "Consultation"}},
            "quantity": 1,
        }
    ]
    session = stripe_client.v1.checkout.sessions.create(params=session_params(customer.id, line_items=items))

    _, _, html = http_request(session.url)

    assert "Pay ¥5,000</button>" in html


def test_paying_with_4242_redirects_to_success_and_sends_a_signed_completed_event(
    stripe_client, standin, receiver, new_session
):
    session = new_session()

    status, headers, _ = http_request(session.url, "POST", {"card_number": "4242 4242 4242 4242", **CARD})

    assert status == 303
    assert headers["location"] == f"http://hospital.test/pay/done?session_id={session.id}"
    paid = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    intent = paid.payment_intent
    assert intent.status == "succeeded" and intent.amount_received == 5000
    charge = intent.latest_charge
    assert (charge.status, charge.paid, charge.captured, charge.amount) == ("succeeded", True, True, 5000)
    assert charge.payment_method_details.card.last4 == "4242"
    assert charge.payment_method_details.card.brand == "visa"
    assert stripe_client.v1.payment_methods.retrieve(charge.payment_method).card.exp_year == 2040

    [delivery] = receiver.wait_for(1)
    assert delivery["headers"]["Content-Type"].startswith("application/json")
    event = stripe.Webhook.construct_event(
        delivery["body"].decode(), delivery["headers"]["Stripe-Signature"], standin.webhook_secret
    )
    assert event.type == "checkout.session.completed"
    assert event.data.object.id == session.id
    assert event.data.object.payment_status == "paid"
    assert event.api_version == stripe.api_version
    assert event["request"]["id"] is None  # the patient's payment is not an API request of ours
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery["body"].decode(), delivery["headers"]["Stripe-Signature"], "whsec_x")


def test_a_declined_card_keeps_the_session_open(stripe_client, standin, receiver, new_session):
    session = new_session()

    status, _, html = http_request(session.url, "POST", {"card_number": "4000 0000 0000 0002", **CARD})

    assert status == 200
    assert '<div class="alert" role="alert">Your card was declined.</div>' in html
    assert 'id="card_number"' in html
    again = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert again.status == "open" and again.payment_intent
    intent = stripe_client.v1.payment_intents.retrieve(again.payment_intent, params={"expand": ["latest_charge"]})
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.code == "card_declined"
    assert intent.last_payment_error.decline_code == "generic_decline"
    assert intent.latest_charge.status == "failed"
    assert intent.latest_charge.failure_code == "card_declined"
    receiver.wait_for(1)
    assert receiver.types() == ["payment_intent.payment_failed"]

    # The patient tries again with a good card: same session, same PaymentIntent.
    status, _, _ = http_request(session.url, "POST", {"card_number": "4242424242424242", **CARD})
    assert status == 303
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent == again.payment_intent


@pytest.mark.parametrize(("action", "outcome"), [("complete", "paid"), ("fail", "unpaid")])
def test_the_authentication_card_asks_first(stripe_client, receiver, new_session, action, outcome):
    session = new_session()

    status, _, html = http_request(session.url, "POST", {"card_number": "4000002500003155", **CARD})
    assert status == 200
    assert "Complete authentication</button>" in html and "Fail authentication</button>" in html

    status, _, html = http_request(f"{session.url}/authenticate", "POST", {"action": action})

    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_status == outcome
    if action == "complete":
        assert status == 303
    else:
        assert status == 200 and "unable to authenticate" in html
        receiver.wait_for(1)
        [event] = receiver.events()
        assert event["type"] == "payment_intent.payment_failed"
        assert event["data"]["object"]["last_payment_error"]["code"] == "payment_intent_authentication_failure"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"card_number": "4242 4242 4242 4241"}, "card_number", "Your card number is invalid."),
        ({"card_number": "4242 4242"}, "card_number", "Your card number is incomplete."),
        ({"card_expiry": "01 / 20"}, "card_expiry", "Your card's expiration year is in the past."),
        ({"card_expiry": "13 / 40"}, "card_expiry", "Your card's expiration date is invalid."),
        ({"card_expiry": "soon"}, "card_expiry", "Your card's expiration date is incomplete."),
        ({"card_cvc": ""}, "card_cvc", "Your card's security code is incomplete."),
    ],
)
def test_card_form_errors_show_at_the_field_and_change_nothing(
    standin, stripe_client, new_session, form, field, message
):
    session = new_session()

    status, _, html = http_request(session.url, "POST", {"card_number": "4242424242424242", **CARD, **form})

    assert status == 200
    assert f'<p class="field-error" id="{field}-error">{message}</p>'.replace("'", "&#x27;") in html
    assert f'aria-describedby="{field}-error" aria-invalid="true"' in html
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent is None
    assert [e["type"] for e in standin.events()] == ["customer.created"]  # from the fixture; nothing since


def test_an_expired_session_cannot_be_paid(standin, new_session):
    session = new_session()
    standin.advance_clock(40 * 60)

    status, _, html = http_request(session.url, "POST", {"card_number": "4242424242424242", **CARD})

    assert status == 200
    assert "This checkout session has expired" in html
    assert [e["type"] for e in standin.events()] == ["customer.created", "checkout.session.expired"]
