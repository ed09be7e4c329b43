"""With CACHE_URL=redis://... two app servers share sessions and rate-limit counters: what
another process (a second app server) wrote in Redis, this one reads. Against the real Redis."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import environ
import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from tests.factories import TEST_PASSWORD
from tests.redis_server import redis_or_skip, redis_url

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 4
REDIS_URL = redis_url(REDIS_DB)
SHARED = {
    "CACHES": {"default": environ.Env.cache_url_config(REDIS_URL)},
    "SESSION_ENGINE": "hospital.sessions",
}

# The other app server: logs in (and fails to) through the real log-in page, prints its cookie.
OTHER_SERVER = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "hospital.test_settings"
django.setup()
from django.test import Client
from django.urls import reverse
from tests.factories import TEST_PASSWORD

client = Client(REMOTE_ADDR=os.environ["VISITOR"])
wrong = {"username": "pat@example.com", "password": "guess"}
for _ in range(2):
    assert client.post(reverse("accounts:login"), wrong).status_code == 200
signed_in = client.post(reverse("accounts:login"), wrong | {"password": TEST_PASSWORD})
assert signed_in.status_code == 302, signed_in.status_code
print(client.cookies["sessionid"].value)
"""


@pytest.fixture
def redis():
    server = redis_or_skip(REDIS_DB)
    written_before = set(server.scan_iter())
    yield server
    # Only what the test wrote goes (the database number may be shared with other runs).
    for key in set(server.scan_iter()) - written_before:
        server.delete(key)


def this_test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def run_other_server(visitor: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env = clean | {
        "CACHE_URL": REDIS_URL,
        "DATABASE_URL": this_test_database_url(),
        "LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS": "4",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "VISITOR": visitor,
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", OTHER_SERVER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()[-1]


@pytest.mark.django_db(transaction=True)  # the other process must see the patient
@override_settings(**SHARED, LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS=4)
def test_a_session_and_a_rate_limit_count_made_by_another_process_hold_here(redis, patient):
    visitor = f"198.18.{secrets.randbelow(255)}.{secrets.randbelow(255)}"
    session_key = run_other_server(visitor)

    here = Client(REMOTE_ADDR=visitor)
    here.cookies["sessionid"] = session_key
    profile = here.get(reverse("accounts:profile"))
    assert profile.status_code == 200
    assert profile.context["user"] == patient
    assert any(session_key in key.decode() for key in redis.scan_iter())  # read from Redis...
    assert Session.objects.filter(session_key=session_key).exists()  # ...and kept in the database

    # The other server counted three log-ins from this address; the limit is four.
    data = {"username": "pat@example.com", "password": TEST_PASSWORD}
    assert Client(REMOTE_ADDR=visitor).post(reverse("accounts:login"), data).status_code == 302
    assert Client(REMOTE_ADDR=visitor).post(reverse("accounts:login"), data).status_code == 429


@pytest.mark.django_db(transaction=True)
@override_settings(**SHARED)
def test_a_redis_restart_signs_no_one_out(redis, patient):
    client = Client()
    client.force_login(patient)
    for key in redis.scan_iter(f"*{client.cookies['sessionid'].value}*"):
        redis.delete(key)  # what a Redis that keeps nothing on disk forgets when it restarts

    assert client.get(reverse("accounts:profile")).status_code == 200
