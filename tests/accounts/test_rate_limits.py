"""Rate limits on the account forms: log-in (per address and per e-mail, the page and the API
together), sign-up and password reset (per address). Over a limit the form is not processed and
a 429 page with Retry-After says when to try again. The Stripe webhook is never limited."""

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from payments.models import UnusableEvent
from tests.accounts.test_signup import signup_data
from tests.factories import TEST_PASSWORD, UserFactory
from tests.payments import handmade
from tests.payments.stripe_events import post_event
from tests.payments.test_odd_events import session as checkout_session

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
SIGNUP = reverse("accounts:signup")
RESET = reverse("accounts:password_reset")
TOKENS = "/api/v1/auth/tokens/"
HOME = "203.0.113.7"
ELSEWHERE = "198.51.100.9"
# 20 minutes before the hour's counters start again.
AT_9_40 = dt.datetime(2026, 6, 1, 9, 40, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(AT_9_40, tick=False):
        yield


def log_in(client, email: str, password: str = TEST_PASSWORD, ip: str = HOME):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def assert_paused(response, title: str, *, nothing_done: str) -> None:
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1200"
    text = " ".join(response.text.split())
    assert f"<h1>{title}</h1>" in text
    assert nothing_done in text
    assert "Please try again in <strong>20 minutes</strong>." in text
    assert "<form" not in text.split("<main", 1)[-1]  # no form to send again at once


class TestLogIn:
    def test_over_the_address_limit_even_the_right_password_is_not_checked(self, settings, patient):
        settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS = 3
        others = [UserFactory(email=f"family{n}@example.com") for n in range(3)]
        for member in others:  # three people behind one NAT log in
            assert log_in(Client(), member.email).status_code == 302

        client = Client()
        assert_paused(log_in(client, patient.email), "Too many log-in attempts", nothing_done="were not checked")
        assert "_auth_user_id" not in client.session
        assert not AccessAttempt.objects.exists()  # not even counted as a failure by axes
        assert log_in(client, patient.email, ip=ELSEWHERE).status_code == 302  # another network may

    def test_over_the_e_mail_limit_from_any_address(self, settings, patient):
        settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_EMAIL = 3
        for n in range(3):  # a guess from each of three addresses: below axes' lock-out of a pair
            assert log_in(Client(), "PAT@example.com", "guess", ip=f"192.0.2.{n}").status_code == 200

        client = Client()
        assert_paused(log_in(client, patient.email, ip="192.0.2.50"), "Too many log-in attempts", nothing_done="")
        assert "_auth_user_id" not in client.session
        assert 'href="/accounts/password/reset/"' in log_in(client, patient.email).text
        # Another account from the same address is not held back.
        assert log_in(Client(), UserFactory(email="other@example.com").email, ip="192.0.2.0").status_code == 302

    def test_successful_log_ins_do_not_use_up_the_e_mail_limit_and_failures_still_do(self, settings, patient):
        settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_EMAIL = 3
        api = APIClient(REMOTE_ADDR=ELSEWHERE)
        body = {"email": patient.email, "password": TEST_PASSWORD, "name": "phone"}
        for n in range(5):  # a patient who logs in on the page and the app, again and again
            assert log_in(Client(), patient.email, ip=f"192.0.2.{n}").status_code == 302
            assert api.post(TOKENS, body | {"name": f"phone {n}"}, format="json").status_code == 201

        for n in range(3):  # then someone guesses, from three addresses
            assert log_in(Client(), patient.email, "guess", ip=f"198.51.100.{n}").status_code == 200

        client = Client()
        assert_paused(log_in(client, patient.email, ip="192.0.2.50"), "Too many log-in attempts", nothing_done="")
        assert "_auth_user_id" not in client.session

    def test_the_api_log_in_shares_the_page_s_counters(self, settings, patient):
        settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_EMAIL = 3
        assert log_in(Client(), patient.email, "guess").status_code == 200
        api = APIClient(REMOTE_ADDR=ELSEWHERE)
        body = {"email": "pat@example.com", "password": "guess", "name": "phone"}
        assert [api.post(TOKENS, body, format="json").status_code for _ in range(2)] == [401, 401]

        refused = api.post(TOKENS, body | {"password": TEST_PASSWORD}, format="json")

        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "throttled"
        assert refused.headers["Retry-After"] == "1200"
        assert patient.auth_token_set.count() == 0
        assert log_in(Client(), patient.email).status_code == 429  # and the page counts the API's

    def test_below_the_limits_the_log_in_and_axes_lock_out_work_as_before(self, patient):
        assert [log_in(Client(), patient.email, "guess").status_code for _ in range(4)] == [200] * 4
        log_in(Client(), patient.email, "guess")
        assert "Log-in temporarily locked" in log_in(Client(), patient.email).text


def test_sign_up_over_the_limit_creates_no_account(settings):
    settings.SIGNUP_RATE_LIMIT_PER_HOUR_PER_ADDRESS = 2
    for n in range(2):
        assert Client().post(SIGNUP, signup_data(email=f"child{n}@example.com"), REMOTE_ADDR=HOME).status_code == 302

    refused = Client().post(SIGNUP, signup_data(email="third@example.com"), REMOTE_ADDR=HOME)

    assert_paused(refused, "Too many sign-ups", nothing_done="No account was created.")
    assert not User.objects.filter(email="third@example.com").exists()
    assert Client().post(SIGNUP, signup_data(email="third@example.com"), REMOTE_ADDR=ELSEWHERE).status_code == 302


def test_password_reset_over_the_limit_sends_nothing_and_still_reveals_nothing(settings, patient):
    settings.PASSWORD_RESET_RATE_LIMIT_PER_HOUR_PER_ADDRESS = 2
    client = Client()
    assert client.post(RESET, {"email": patient.email}, REMOTE_ADDR=HOME).status_code == 302
    assert client.post(RESET, {"email": "nobody@example.com"}, REMOTE_ADDR=HOME).status_code == 302
    assert len(mail.outbox) == 1

    for_an_account = client.post(RESET, {"email": patient.email}, REMOTE_ADDR=HOME)
    for_nobody = client.post(RESET, {"email": "nobody@example.com"}, REMOTE_ADDR=HOME)

    assert_paused(for_an_account, "Too many password reset requests", nothing_done="No e-mail was sent.")
    assert for_nobody.status_code == 429
    assert for_nobody.content == for_an_account.content
    assert len(mail.outbox) == 1


class TestClientAddress:
    def test_a_client_s_own_forwarded_header_is_ignored_without_trusted_proxies(self, settings, patient):
        settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS = 1
        assert log_in(Client(), patient.email, "guess").status_code == 200
        refused = Client().post(
            LOGIN,
            {"username": patient.email, "password": TEST_PASSWORD},
            REMOTE_ADDR=HOME,
            HTTP_X_FORWARDED_FOR="1.2.3.4",
        )
        assert refused.status_code == 429

    def test_behind_a_trusted_proxy_each_visitor_has_their_own_count_and_axes_sees_them(self, settings, patient):
        settings.TRUSTED_PROXY_COUNT = 1
        settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS = 1
        proxy = "10.0.0.2"

        def via_proxy(forwarded_for: str, password: str):
            data = {"username": patient.email, "password": password}
            return Client().post(LOGIN, data, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded_for)

        assert via_proxy(HOME, "guess").status_code == 200
        assert AccessAttempt.objects.get().ip_address == HOME  # axes counts the visitor, not the proxy
        # Whatever the client writes left of what the proxy appended proves nothing.
        assert via_proxy(f"{ELSEWHERE}, {HOME}", TEST_PASSWORD).status_code == 429
        assert via_proxy(ELSEWHERE, TEST_PASSWORD).status_code == 302

    @pytest.mark.parametrize(
        ("forwarded_for", "seen_as"),
        [("203.0.113.7:51234", HOME), ("[2001:db8::7]:51234", "2001:db8::7"), ("unknown", "10.0.0.2")],
    )
    def test_a_forwarded_address_with_a_port_or_none_at_all_is_still_an_address(
        self, settings, patient, forwarded_for, seen_as
    ):
        # Some proxies append the caller's port, or "unknown": never a 500 on log-in (axes and the
        # audit log keep addresses in an inet column on PostgreSQL), and never a made-up address.
        settings.TRUSTED_PROXY_COUNT = 1
        data = {"username": patient.email, "password": "guess"}
        failed = Client().post(LOGIN, data, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
        assert failed.status_code == 200
        assert AccessAttempt.objects.get().ip_address == seen_as


def test_the_stripe_webhook_is_never_limited(settings, standin, webhook_endpoint):
    for limit in [
        "LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS",
        "SIGNUP_RATE_LIMIT_PER_HOUR_PER_ADDRESS",
        "PASSWORD_RESET_RATE_LIMIT_PER_HOUR_PER_ADDRESS",
        "BOOKING_RATE_LIMIT_PER_HOUR",
        "PRESCRIPTION_VERIFY_RATE_LIMIT_PER_HOUR",
    ]:
        setattr(settings, limit, 1)
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "address": "1/min", "user": "1/min"}
    stripe_side = Client(REMOTE_ADDR="192.0.2.200")  # every delivery from one address
    # Signed events the site acknowledges and records without a Stripe call (their metadata names no payment).
    unusable = {"hospital_payment_id": "not-a-number"}
    events = [handmade.event("checkout.session.completed", checkout_session(metadata=unusable)) for _ in range(25)]

    assert {post_event(stripe_side, event).status_code for event in events} == {200}
    assert UnusableEvent.objects.count() == 25  # each one processed, none turned away
