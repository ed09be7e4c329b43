"""Staff and doctors are signed out after STAFF_IDLE_LOGOFF_MINUTES without a request, sliding
with each one, and told so on the log-in page; patients stay signed in for their two weeks."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.oath import totp

from accounts.services import totp_demo_device_set
from tests.factories import TEST_PASSWORD, DoctorFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
APP_KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test secret, as hex
SIGNED_OUT = "You were signed out after 15 minutes without activity."


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield lambda minutes: traveller.move_to(START + dt.timedelta(minutes=minutes))


def log_in(user) -> tuple[Client, object]:
    """The real log-in: the password, then (staff and doctors) the authenticator app's code."""
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    if not user.is_patient:
        device = totp_demo_device_set(user=user, key=APP_KEY)
        code = f"{totp(bytes.fromhex(device.key)):06d}"
        response = client.post(reverse("accounts:two_factor"), {"code": code})
        assert response.status_code == 302
    return client, response


def test_staff_stay_signed_in_while_active_and_are_signed_out_after_15_idle_minutes(clock, staff):
    client, _ = log_in(staff)
    for minutes in [10, 20, 34, 48]:  # never 15 minutes apart: each request slides the deadline
        clock(minutes)
        assert client.get("/admin/").status_code == 200

    clock(48 + 15)
    response = client.get("/admin/", follow=True)

    assert response.redirect_chain == [("/admin/login/?next=/admin/", 302)]
    assert SIGNED_OUT in response.text
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still signed out; the message was shown once
    assert SIGNED_OUT not in client.get("/admin/", follow=True).text


def test_a_doctor_is_told_on_the_site_s_log_in_page(clock):
    doctor = DoctorFactory().user
    client, _ = log_in(doctor)
    assert client.get(reverse("portal:day")).status_code == 200
    clock(14.9)
    assert client.get(reverse("portal:day")).status_code == 200

    clock(14.9 + 15)
    response = client.get(reverse("portal:day"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("accounts:login") + "?next=")
    assert "<h1>Log in</h1>" in response.text
    assert SIGNED_OUT in response.text


@pytest.mark.parametrize(("minutes", "told"), [(5, "5 minutes"), (1, "1 minute")])
def test_the_minutes_come_from_the_setting(clock, settings, staff, minutes, told):
    settings.STAFF_IDLE_LOGOFF_MINUTES = minutes
    client, _ = log_in(staff)
    clock(minutes)

    assert f"You were signed out after {told} without activity." in client.get("/admin/", follow=True).text


def test_staff_cookies_end_with_the_browser_and_patients_last_two_weeks(clock, staff, patient):
    _, staff_login = log_in(staff)
    _, patient_login = log_in(patient)

    assert staff_login.cookies["sessionid"]["max-age"] == ""
    assert staff_login.cookies["sessionid"]["expires"] == ""
    assert patient_login.cookies["sessionid"]["max-age"] == 14 * 24 * 60 * 60


def test_patients_are_not_signed_out_when_idle(clock, patient):
    client, _ = log_in(patient)
    clock(6 * 60)

    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 200
    assert "signed out" not in response.text


def test_a_staff_member_s_session_is_saved_at_most_once_a_minute_not_on_every_page(clock, staff):
    client, _ = log_in(staff)

    def session_writes_of_a_request() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/admin/").status_code == 200
        return sum('"django_session"' in q["sql"] and not q["sql"].startswith("SELECT") for q in queries)

    clock(0.5)
    assert session_writes_of_a_request() == 0
    clock(1.5)
    assert session_writes_of_a_request() == 1  # a minute passed: the last request's time is saved
    clock(1.8)
    assert session_writes_of_a_request() == 0


def test_with_a_one_minute_log_off_a_staff_member_active_every_half_minute_stays_signed_in(clock, settings, staff):
    # The last request's time is saved at most once a minute: with a one-minute log-off that
    # must not sign out someone whose previous request was seconds ago.
    settings.STAFF_IDLE_LOGOFF_MINUTES = 1
    client, _ = log_in(staff)
    for minutes in [0.5, 1.0, 1.5, 2.0, 2.5]:
        clock(minutes)
        assert client.get("/admin/").status_code == 200, f"signed out at {minutes} minutes"
