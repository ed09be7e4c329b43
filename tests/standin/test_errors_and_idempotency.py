"""Stripe's error envelope, authentication, and the idempotency rules the app's retries rely on."""

import json
import time

import pytest
import stripe

from .conftest import session_params
from .helpers import http_request


def test_unknown_id_is_a_404_resource_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_nope")

    assert error.value.http_status == 404
    assert error.value.code == "resource_missing"
    assert error.value.user_message == "No such checkout.session: 'cs_test_nope'"
    assert error.value.json_body["error"]["type"] == "invalid_request_error"
    assert error.value.json_body["error"]["param"] == "id"


def test_a_wrong_key_is_a_401_with_the_key_masked(standin):
    stripe_client = stripe.StripeClient("sk_test_wrongWrongWrongWrong1234", base_addresses={"api": standin.url})

    with pytest.raises(stripe.AuthenticationError) as error:
        stripe_client.v1.customers.list()

    assert error.value.http_status == 401
    assert error.value.user_message == "Invalid API Key provided: sk_test_********************1234"
    assert error.value.json_body["error"]["type"] == "invalid_request_error"


def test_no_key_is_a_401(standin):
    status, headers, text = http_request(f"{standin.url}/v1/customers")
    assert status == 401
    assert "You did not provide an API key" in json.loads(text)["error"]["message"]
    assert headers["request-id"].startswith("req_")


def test_an_unknown_route_is_a_404(standin):
    status, _, text = http_request(f"{standin.url}/v1/teapots", headers={"Authorization": f"Bearer {standin.api_key}"})
    assert status == 404
    assert "Unrecognized request URL (GET: /v1/teapots)" in json.loads(text)["error"]["message"]


def _post(standin, path: str, params: dict, key: str) -> tuple[int, dict, str]:
    headers = {"Authorization": f"Bearer {standin.api_key}", "Idempotency-Key": key}
    return http_request(standin.url + path, "POST", form=params, headers=headers)


def test_the_same_key_replays_the_first_response_byte_for_byte(standin, stripe_client):
    first = _post(standin, "/v1/customers", {"email": "a@example.com"}, "key-1")
    again = _post(standin, "/v1/customers", {"email": "a@example.com"}, "key-1")

    assert first[0] == again[0] == 200
    assert again[2] == first[2]
    assert again[1]["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first[1]
    assert again[1]["request-id"] != first[1]["request-id"]
    assert again[1]["original-request"] == first[1]["request-id"]
    assert len(stripe_client.v1.customers.list().data) == 1


def test_a_stored_error_is_replayed(standin, paid_charge):
    params = {"charge": paid_charge.id, "amount": "9999"}
    first = _post(standin, "/v1/refunds", params, "refund-key")
    # Even once the request would now be fine, the key still answers with its first response.
    again = _post(standin, "/v1/refunds", params, "refund-key")

    assert first[0] == again[0] == 400
    assert json.loads(first[2])["error"]["code"] == "amount_too_large"
    assert again[2] == first[2]
    assert again[1]["idempotent-replayed"] == "true"


def test_a_500_from_the_failure_switch_is_replayed(standin, stripe_client):
    standin.configure(fail_api={"mode": "500", "path_prefix": "/v1/customers", "method": "POST"})
    options = {"idempotency_key": "flaky"}

    with pytest.raises(stripe.APIError) as first:
        stripe_client.v1.customers.create(params={"email": "a@example.com"}, options=options)
    with pytest.raises(stripe.APIError) as again:
        stripe_client.v1.customers.create(params={"email": "a@example.com"}, options=options)

    assert first.value.http_status == again.value.http_status == 500
    assert first.value.json_body["error"]["type"] == "api_error"
    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert stripe_client.v1.customers.list().data == []
    # The switch was for one call: a new key goes through.
    assert stripe_client.v1.customers.create(params={"email": "a@example.com"}).id.startswith("cus_")


def test_reusing_a_key_with_other_parameters_is_an_idempotency_error(stripe_client):
    stripe_client.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k"})

    with pytest.raises(stripe.IdempotencyError) as error:
        stripe_client.v1.customers.create(params={"email": "b@example.com"}, options={"idempotency_key": "k"})

    assert error.value.http_status == 400
    assert error.value.json_body["error"]["type"] == "idempotency_error"


def test_parameter_validation_errors_are_not_stored(stripe_client, customer):
    bad = session_params(customer.id, expires_at=int(time.time()) + 60)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.create(params=bad, options={"idempotency_key": "fix-me"})

    # Stripe saves nothing for a request that failed validation: the corrected retry may use the key.
    good = stripe_client.v1.checkout.sessions.create(
        params=session_params(customer.id), options={"idempotency_key": "fix-me"}
    )
    assert good.status == "open"


def test_a_timeout_then_a_retry_with_the_same_key_makes_one_object(standin, customer):
    standin.configure(fail_api={"mode": "timeout", "timeout_seconds": 0.6, "path_prefix": "/v1/checkout/sessions"})
    impatient = stripe.StripeClient(
        standin.api_key,
        base_addresses={"api": standin.url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=0.2),
    )
    params = session_params(customer.id)
    options = {"idempotency_key": "book-slot-42"}

    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.checkout.sessions.create(params=params, options=options)

    # While the first request is still running, the same key is "in use".
    with pytest.raises(stripe.StripeError) as in_flight:
        impatient.v1.checkout.sessions.create(params=params, options=options)
    assert in_flight.value.http_status == 409
    assert in_flight.value.json_body["error"]["type"] == "idempotency_error"

    patient = stripe.StripeClient(standin.api_key, base_addresses={"api": standin.url}, max_network_retries=0)
    deadline = time.monotonic() + 5
    while True:
        try:
            session = patient.v1.checkout.sessions.create(params=params, options=options)
            break
        except stripe.StripeError as error:
            if error.http_status != 409 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)

    sessions = patient.v1.checkout.sessions.list().data
    assert [s.id for s in sessions] == [session.id]
