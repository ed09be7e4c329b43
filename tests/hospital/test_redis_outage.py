"""While Redis (CACHE_URL=redis://...) is down, or hangs, the site carries on without it: public
pages are built for each request, log-in works and the rate limits let requests through (the
log-in lock-out, in the database, still holds), /healthz says the cache is failing, and a log-out
ends the session for good, even once Redis is back with the session still in it.

Down is a port nothing listens on (refused at once); hanging is a listener that takes the
connection and never answers, which each call waits out (TIMEOUT) before giving up.
"""

import asyncio
import concurrent.futures
import datetime as dt
import logging
import socket

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from hospital import cache_outage
from tests.factories import TEST_PASSWORD, DoctorFactory, SlotFactory, SpecialtyFactory, UserFactory
from tests.hospital.smtp import BadSmtpServer
from tests.redis_server import redis_or_skip, redis_url

pytestmark = pytest.mark.django_db

REDIS_DB = 6
REDIS_URL = redis_url(REDIS_DB)
TIMEOUT = 0.1  # seconds per cache call against the hanging listener
LOGIN = reverse("accounts:login")
PROFILE = reverse("accounts:profile")


def redis_cache(location: str) -> dict:
    backend = "django.core.cache.backends.redis.RedisCache"
    options = {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT}
    return {"default": {"BACKEND": backend, "LOCATION": location, "OPTIONS": options}}


def use_cache(settings, location: str) -> None:
    """What CACHE_URL=redis://... gives (hospital/settings.py): the cache and sessions in Redis."""
    settings.CACHES = redis_cache(location)
    settings.SESSION_ENGINE = "hospital.sessions"


@pytest.fixture(params=["refused", "hanging"])
def redis_down(request):
    """The address of a Redis that is down: refused, or hanging."""
    if request.param == "refused":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"redis://127.0.0.1:{port}/6"
    else:
        with BadSmtpServer(silent=True, hang_seconds=10) as hanging:  # accepts, then says nothing
            yield f"redis://127.0.0.1:{hanging.port}/6"


@pytest.fixture
def cache_down(settings, redis_down):
    use_cache(settings, redis_down)


@pytest.fixture
def redis():
    """The real Redis here, database 6, emptied before and after."""
    server = redis_or_skip(REDIS_DB)
    server.flushdb()
    yield server
    server.flushdb()


@pytest.fixture(autouse=True)
def _no_warning_yet(monkeypatch):
    """Each test starts as a fresh process would: no cache warning given yet."""
    monkeypatch.setattr(cache_outage, "_last_warned", {})


def warnings_from(caplog, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]


def log_in(client: Client, email: str, password: str = TEST_PASSWORD):
    return client.post(LOGIN, {"username": email, "password": password})


@pytest.mark.usefixtures("cache_down")
def test_the_public_pages_are_built_afresh_and_the_outage_is_logged_once(client, caplog):
    cardiology = SpecialtyFactory(name="Cardiology")
    doctor = DoctorFactory(user=UserFactory(first_name="Ada", last_name="Okafor", role="doctor"), specialty=cardiology)
    slot = SlotFactory(doctor=doctor, starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=1))
    book = reverse("appointments:book", args=[slot.pk])

    for _ in range(3):
        home = client.get(reverse("hospital:home"))
        found = client.get(reverse("hospital:doctor_list"), {"q": "Okafor"})
        page = client.get(reverse("hospital:doctor_detail", args=[doctor.pk]))

        assert (home.status_code, found.status_code, page.status_code) == (200, 200, 200)
        assert f"?specialty={cardiology.slug}" in home.text
        assert "Ada Okafor" in found.text
        assert "Ada Okafor" in page.text and book in page.text

    [warning] = warnings_from(caplog, "hospital.page_cache")  # nine pages, one line
    assert "Cache unavailable (reading a page fragment" in warning.getMessage()


@pytest.mark.usefixtures("cache_down")
def test_log_in_works_and_rate_limits_let_requests_through_but_the_lock_out_holds(client, patient, settings, caplog):
    settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS = 1
    settings.API_THROTTLE_RATES = {"user": "1/min", "address": "1/min"}

    assert log_in(Client(), patient.email, "a wrong guess").status_code == 200  # the form, again
    signed_in = log_in(client, patient.email)
    assert signed_in.status_code == 302  # past the limit of 1: the limit cannot count, so it lets through
    profile = client.get(PROFILE)
    assert profile.status_code == 200 and profile.context["user"] == patient
    for _ in range(2):
        assert client.get("/api/v1/doctors/").status_code == 200  # past 1/min too

    # django-axes keeps failures in the database: five wrong guesses still lock the pair out.
    for _ in range(5):
        log_in(Client(), patient.email, "a wrong guess")
    locked = log_in(Client(), patient.email)  # the right password
    assert locked.status_code == 429 and "Log-in temporarily locked" in locked.text

    assert len(warnings_from(caplog, "hospital.ratelimit")) == 1
    assert len(warnings_from(caplog, "hospital.api.throttling")) == 1


@pytest.mark.usefixtures("cache_down")
def test_healthz_says_the_cache_is_failing_and_keeps_the_server_in_rotation(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()["status"]) == (200, "degraded")
    assert response.json()["failing"] == ["cache"]
    assert response.json()["checks"]["cache"].startswith("failing: unreachable")
    assert client.get("/healthz?strict").status_code == 503


def test_a_log_out_while_redis_is_down_ends_the_session_even_after_redis_returns(
    client, settings, patient, redis, redis_down, caplog
):
    use_cache(settings, REDIS_URL)
    assert log_in(client, patient.email).status_code == 302
    other_browser = Client()
    assert log_in(other_browser, patient.email).status_code == 302
    session_key = client.cookies["sessionid"].value
    cached_copy = f":1:django.contrib.sessions.cached_db{session_key}"
    assert client.get(PROFILE).status_code == 200
    assert redis.exists(cached_copy)

    read_before = User.objects.get(pk=patient.pk)  # say, staff's admin form open on this person
    use_cache(settings, redis_down)
    logged_out = client.post(reverse("accounts:logout"))
    assert logged_out.status_code == 302  # the log-out is not refused...
    assert not Session.objects.filter(session_key=session_key).exists()  # ...its row is gone
    read_before.first_name = "Patricia"
    read_before.save()  # saved after the log-out: it must not undo what ended the sessions

    use_cache(settings, REDIS_URL)
    assert redis.exists(cached_copy)  # Redis is back, still holding the session it was not told of
    stolen = Client()
    stolen.cookies["sessionid"] = session_key
    assert stolen.get(PROFILE).status_code == 302  # to the log-in page: the copy signs no one in
    assert not redis.exists(cached_copy)  # and is gone
    # The price, only during an outage: the other browser was signed out too. Logging in works.
    assert other_browser.get(PROFILE).status_code == 302
    assert log_in(client, patient.email).status_code == 302
    assert client.get(PROFILE).status_code == 200
    assert any("every session of its user ended" in r.getMessage() for r in warnings_from(caplog, "hospital.sessions"))


def test_a_session_begun_while_redis_is_down_lives_on_once_it_returns(client, settings, patient, redis, redis_down):
    use_cache(settings, redis_down)
    assert log_in(client, patient.email).status_code == 302
    assert client.get(PROFILE).status_code == 200

    use_cache(settings, REDIS_URL)
    assert client.get(PROFILE).status_code == 200  # read from the database, then cached
    assert redis.exists(f":1:django.contrib.sessions.cached_db{client.cookies['sessionid'].value}")


def test_a_session_its_password_already_ended_signs_no_other_out_when_it_is_refused(
    client, settings, patient, redis, redis_down
):
    use_cache(settings, REDIS_URL)
    old_browser = Client()
    assert log_in(old_browser, patient.email).status_code == 302
    assert log_in(client, patient.email).status_code == 302
    new = "a-brand-new-secret-9"
    changed = client.post(
        reverse("accounts:password_change"), {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert changed.status_code == 302

    use_cache(settings, redis_down)
    assert old_browser.get(PROFILE).status_code == 302  # refused by the old password's hash
    assert client.get(PROFILE).status_code == 200  # the browser that changed it stays signed in


def test_the_warning_comes_again_after_a_minute_while_the_outage_lasts(caplog, monkeypatch):
    logger = logging.getLogger("hospital.page_cache")
    for seconds in [1000, 1001, 1059]:
        monkeypatch.setattr(cache_outage, "_clock", lambda seconds=seconds: seconds)
        cache_outage.cache_failed(logger, "reading a page fragment", ConnectionError("refused"))
    assert len(warnings_from(caplog, "hospital.page_cache")) == 1

    monkeypatch.setattr(cache_outage, "_clock", lambda: 1060)
    cache_outage.cache_failed(logger, "reading a page fragment", ConnectionError("refused"))
    assert len(warnings_from(caplog, "hospital.page_cache")) == 2


def test_a_cached_session_that_cannot_be_read_back_is_read_from_the_database(client, settings, patient, redis):
    use_cache(settings, REDIS_URL)
    assert log_in(client, patient.email).status_code == 302
    cached_copy = f":1:django.contrib.sessions.cached_db{client.cookies['sessionid'].value}"
    redis.set(cached_copy, b"not a pickle")  # a torn write, another program's key

    assert client.get(PROFILE).status_code == 200
    assert redis.get(cached_copy) != b"not a pickle"  # replaced by the database's copy


@pytest.mark.django_db(transaction=True)
def test_the_async_log_out_ends_the_session_for_good_too(settings, patient, redis, redis_down):
    from hospital.sessions import SessionStore

    use_cache(settings, REDIS_URL)
    client = Client()
    assert log_in(client, patient.email).status_code == 302
    session_key = client.cookies["sessionid"].value

    use_cache(settings, redis_down)

    async def log_out():  # what an ASGI server's alogout() calls
        try:
            await SessionStore(session_key).aflush()
        finally:  # the database connection its worker thread opened
            await sync_to_async(connections.close_all)()

    # On a loop of its own: the browser tests leave Playwright's loop running in this thread,
    # where asgiref's async_to_sync refuses to start.
    with concurrent.futures.ThreadPoolExecutor(1) as loop_thread:
        loop_thread.submit(asyncio.run, log_out()).result()

    use_cache(settings, REDIS_URL)
    assert redis.exists(f":1:django.contrib.sessions.cached_db{session_key}")  # not forgotten...
    assert client.get(PROFILE).status_code == 302  # ...and still refused
