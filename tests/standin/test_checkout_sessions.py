"""Checkout Sessions follow Stripe's rules: required parameters, the expires_at window, expiry."""

import time

import pytest
import stripe

from .conftest import session_params


def test_create_and_retrieve_a_session(stripe_client, standin, customer, new_session):
    session = new_session()

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.amount_total == 5000
    assert session.amount_subtotal == 5000
    assert session.currency == "usd"
    assert session.customer == customer.id
    assert session.customer_details.email == "pat@example.com"
    assert session.payment_intent is None  # created at the first payment attempt
    assert session.url == f"{standin.url}/pay/{session.id}"
    assert session.metadata.to_dict() == {"appointment_id": "1", "payment_id": "7"}
    assert session.client_reference_id == "appointment-1"
    assert session.total_details.to_dict() == {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}
    assert session.livemode is False
    assert isinstance(session.created, int)

    fetched = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["line_items", "total_details.breakdown", "line_items.data.discounts"]}
    )
    assert fetched.line_items.data[0].description == "Consultation"
    assert fetched.line_items.data[0].amount_total == 5000
    assert fetched.line_items.data[0].price.unit_amount == 5000
    assert fetched.total_details.breakdown.to_dict() == {"discounts": [], "taxes": []}

    items = stripe_client.v1.checkout.sessions.line_items.list(session.id)
    assert [item.quantity for item in items.data] == [1]


def test_expand_customer_and_refuse_what_cannot_be_expanded(stripe_client, new_session):
    session = new_session()

    expanded = stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["customer"]})
    assert expanded.customer.email == "pat@example.com"

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["customer_email"]})
    assert error.value.http_status == 400
    assert "cannot be expanded (customer_email)" in error.value.user_message


def test_expire_an_open_session_only(stripe_client, new_session):
    session = new_session()

    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.expire(session.id)
    assert error.value.http_status == 400


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (29 * 60, "at least 30 minutes"),
        (24 * 3600 + 60, "less than 24 hours"),
    ],
)
def test_expires_at_must_be_30_minutes_to_24_hours_away(stripe_client, customer, offset, message):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.create(
            params=session_params(customer.id, expires_at=int(time.time()) + offset)
        )

    assert error.value.http_status == 400
    assert error.value.param == "expires_at"
    assert message in error.value.user_message


def test_expires_at_35_minutes_away_is_accepted(stripe_client, customer):
    expires_at = int(time.time()) + 35 * 60
    session = stripe_client.v1.checkout.sessions.create(params=session_params(customer.id, expires_at=expires_at))
    assert session.expires_at == expires_at


def test_customer_and_customer_email_together_are_refused(stripe_client, customer):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.create(params=session_params(customer.id, customer_email="pat@example.com"))
    assert error.value.http_status == 400
    assert "customer, customer_email" in error.value.user_message


def test_an_unknown_customer_is_refused(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.create(params=session_params("cus_missing"))
    assert error.value.code == "resource_missing"
    assert error.value.param == "customer"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"mode": None}, "mode"),
        ({"success_url": None}, "success_url"),
        ({"line_items": None}, "line_items"),
        (
            {"line_items": [{"price_data": {"currency": "usd", "unit_amount": 5000, "product_data": {"name": "X"}}}]},
            "line_items[0][quantity]",
        ),
        (
            {"line_items": [{"price_data": {"unit_amount": 5000, "product_data": {"name": "X"}}, "quantity": 1}]},
            "line_items[0][price_data][currency]",
        ),
        ({"surprise": "yes"}, "surprise"),
    ],
)
def test_create_validates_its_parameters(stripe_client, customer, change, param):
    params = session_params(customer.id)
    for key, value in change.items():
        if value is None:
            params.pop(key)
        else:
            params[key] = value

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.create(params=params)

    assert error.value.http_status == 400
    assert error.value.param == param


@pytest.mark.parametrize(
    ("currency", "unit_amount", "minimum"), [("usd", 49, "$0.50"), ("jpy", 30, "¥50"), ("gbp", 29, "£0.30")]
)
def test_a_total_below_stripes_minimum_is_refused(stripe_client, customer, currency, unit_amount, minimum):
    items = [{"price_data": {"currency": currency, "unit_amount": unit_amount, "product_data": {"name": "X"}},
              "quantity": 1}]  # fmt: skip

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.create(params=session_params(customer.id, line_items=items))

    assert error.value.http_status == 400
    assert error.value.code == "amount_too_small"
    assert error.value.param == "line_items[0][price_data][unit_amount]"
    assert f"at least {minimum} {currency}" in error.value.user_message
    assert stripe_client.v1.checkout.sessions.list().data == []


def test_the_minimum_itself_is_accepted(stripe_client, customer):
    items = [{"price_data": {"currency": "jpy", "unit_amount": 50, "product_data": {"name": "X"}}, "quantity": 1}]

    session = stripe_client.v1.checkout.sessions.create(params=session_params(customer.id, line_items=items))

    assert (session.amount_total, session.currency) == (50, "jpy")


def test_advancing_the_clock_expires_the_session_and_emits_the_event(stripe_client, standin, receiver, new_session):
    session = new_session()

    result = standin.advance_clock(36 * 60)

    assert result["expired_sessions"] == [session.id]
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    events = receiver.wait_for(1)
    assert [r["body"] for r in events] and receiver.types() == ["checkout.session.expired"]
    assert receiver.events()[0]["data"]["object"]["id"] == session.id


def test_lists_are_newest_first_and_filterable(stripe_client, customer, new_session):
    first, second, third = new_session(), new_session(), new_session()

    listed = stripe_client.v1.checkout.sessions.list(params={"limit": 2})
    assert listed.object == "list"
    assert [s.id for s in listed.data] == [third.id, second.id]
    assert listed.has_more is True
    assert listed.url == "/v1/checkout/sessions"

    rest = stripe_client.v1.checkout.sessions.list(params={"starting_after": second.id})
    assert [s.id for s in rest.data] == [first.id]
    assert rest.has_more is False

    by_customer = stripe_client.v1.checkout.sessions.list(params={"customer": customer.id})
    assert len(by_customer.data) == 3
    assert stripe_client.v1.checkout.sessions.list(params={"customer": "cus_other"}).data == []


def test_customers_by_email(stripe_client):
    older = stripe_client.v1.customers.create(params={"email": "twin@example.com"})
    newer = stripe_client.v1.customers.create(params={"email": "twin@example.com", "metadata": {"user_id": "9"}})
    stripe_client.v1.customers.create(params={"email": "other@example.com"})

    found = stripe_client.v1.customers.list(params={"email": "twin@example.com"})

    assert [c.id for c in found.data] == [newer.id, older.id]
    assert newer.metadata.to_dict() == {"user_id": "9"}
    assert older.invoice_settings.to_dict()["default_payment_method"] is None
    assert stripe_client.v1.customers.retrieve(older.id).metadata.to_dict() == {}


def test_the_clock_can_be_set_to_a_tests_frozen_time(stripe_client, standin, customer):
    frozen = 1_780_000_000  # a test frozen in time sends expires_at relative to its own now
    assert standin.control("/clock", now=frozen)["now"] == frozen

    session = stripe_client.v1.checkout.sessions.create(params=session_params(customer.id, expires_at=frozen + 35 * 60))

    assert session.created == frozen
