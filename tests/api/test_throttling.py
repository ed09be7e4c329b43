"""Request limits: per user (whichever token), per address for visitors, stricter for log-in; the
(N+1)th call is a 429 in the one error shape with Retry-After; counters live in the cache."""

import uuid

import environ
import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.api.conftest import client_with_token
from tests.factories import TEST_PASSWORD
from tests.redis_server import redis_or_skip, redis_url

pytestmark = pytest.mark.django_db

ROOMY = "1000/min"


def rates(**scopes: str) -> dict[str, str]:
    return {"user": ROOMY, "address": ROOMY, **scopes}


def token_client(user, name: str = "tests") -> APIClient:
    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name=name)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def assert_throttled(response, *, window_seconds: int = 60) -> None:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert set(response.json()) == {"error"}
    assert error["code"] == "throttled"
    assert error["fields"] == {}
    assert error["message"].startswith("Request was throttled.")
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= window_seconds


@override_settings(API_THROTTLE_RATES=rates(user="3/min"))
def test_the_fourth_call_in_a_minute_is_429_with_retry_after(patient):
    client = token_client(patient)

    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(client.get("/api/v1/me/"))


@override_settings(API_THROTTLE_RATES=rates(user="2/min"))
def test_one_user_is_counted_across_their_tokens_and_others_are_not(world):
    phone, laptop = token_client(world.patient, "phone"), token_client(world.patient, "laptop")

    assert phone.get("/api/v1/me/").status_code == 200
    assert laptop.get("/api/v1/me/").status_code == 200
    assert_throttled(phone.get("/api/v1/me/"))
    assert_throttled(laptop.get("/api/v1/auth/tokens/"))  # the limit is the user's, on every endpoint
    # Another account from the same address has its own count.
    assert client_with_token(world.other_patient).get("/api/v1/me/").status_code == 200


@override_settings(API_THROTTLE_RATES=rates(address="2/min"))
def test_visitors_are_counted_by_address_and_a_forwarded_header_does_not_reset_it(db):
    # The schema is open to visitors; asked for as JSON, its errors are JSON too.
    here = APIClient(REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT="application/json")
    there = APIClient(REMOTE_ADDR="198.51.100.20", HTTP_ACCEPT="application/json")

    assert [here.get("/api/v1/schema/").status_code for _ in range(2)] == [200, 200]
    assert_throttled(here.get("/api/v1/schema/"))
    assert_throttled(here.get("/api/v1/schema/", HTTP_X_FORWARDED_FOR="192.0.2.99"))
    assert there.get("/api/v1/schema/").status_code == 200


@override_settings(API_THROTTLE_RATES=rates(address="2/min"))
def test_signed_in_callers_from_one_address_share_its_limit_too(world):
    """The address limit is the ceiling for one machine, whoever signs in from it."""
    first = token_client(world.patient)
    second = token_client(world.other_patient)

    assert first.get("/api/v1/me/").status_code == 200
    assert second.get("/api/v1/me/").status_code == 200
    assert_throttled(first.get("/api/v1/me/"))
    assert token_client(world.staff).get("/api/v1/me/", REMOTE_ADDR="198.51.100.20").status_code == 200


@override_settings(API_THROTTLE_RATES=rates(user="100/min", address="100/min"), LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS=2)
def test_log_in_is_stricter_than_the_rest(patient):
    """Log-in has the log-in page's hourly limits (tests/accounts/test_rate_limits.py)."""
    client = APIClient()
    wrong = {"email": "pat@example.com", "password": "not-it", "name": "x"}

    assert client.post("/api/v1/auth/tokens/", wrong, format="json").status_code == 401
    assert client.post("/api/v1/auth/tokens/", {}, format="json").status_code == 400
    right = {"email": "pat@example.com", "password": TEST_PASSWORD, "name": "phone"}
    assert_throttled(client.post("/api/v1/auth/tokens/", right, format="json"), window_seconds=3600)
    assert not ApiToken.objects.exists()  # a throttled log-in makes no token
    # Only logging in is held back: a signed-in caller's other calls go on.
    signed_in = token_client(patient)
    assert signed_in.get("/api/v1/auth/tokens/").status_code == 200
    assert signed_in.get("/api/v1/me/").status_code == 200


@override_settings(API_THROTTLE_RATES=rates(user="1/min"))
def test_the_counters_are_in_the_cache(patient):
    client = token_client(patient)
    assert client.get("/api/v1/me/").status_code == 200
    assert_throttled(client.get("/api/v1/me/"))

    cache.clear()  # e.g. another app server's view of a flushed cache: the count starts again

    assert client.get("/api/v1/me/").status_code == 200


@pytest.fixture
def redis_cache():
    """The default cache on Redis, as CACHE_URL=redis://... configures it, in a key space of its own."""
    server = redis_or_skip(13)
    config = environ.Env.cache_url_config(redis_url(13)) | {"KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}"}
    with override_settings(CACHES={"default": config}):
        yield server, config["KEY_PREFIX"]
        cache.clear()


@override_settings(API_THROTTLE_RATES=rates(user="2/min"))
def test_the_counters_work_in_redis(patient, redis_cache):
    client, (redis, prefix) = token_client(patient), redis_cache

    assert [client.get("/api/v1/me/").status_code for _ in range(2)] == [200, 200]
    assert_throttled(client.get("/api/v1/me/"))

    keys = [key.decode() for key in redis.scan_iter(f"{prefix}:*")]
    assert f"{prefix}:1:throttle_user_user-{patient.pk}" in keys
    assert any(key.startswith(f"{prefix}:1:throttle_address_") for key in keys)
