"""docs/api_client.py, run as a program against a live server, with the Stripe stand-in as the
payment provider posting its signed webhooks to that server, as the browser tests have it."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import ApiToken
from appointments.models import Appointment, AppointmentStatus
from payments.models import PaymentStatus
from tests.factories import TEST_PASSWORD, DoctorFactory, PatientFactory, UserFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = Path(__file__).resolve().parents[2] / "docs" / "api_client.py"


@pytest.fixture
def stripe_delivering_to(live_server, standin):
    """The stand-in posts its events to the live server, as Stripe would (tests/e2e/conftest.py)."""
    from payments.webhooks import webhook_endpoint_ensure, webhook_url_path

    webhook_endpoint_ensure(base_url=live_server.url)
    standin.control("config", withhold=False, webhook_url=live_server.url + webhook_url_path())
    yield standin
    standin.process.wait_idle()  # nothing in flight when the tables are flushed


@pytest.fixture
def tokyo_doctor():
    from hospital.services import slots_generate

    doctor = DoctorFactory(
        user=UserFactory(first_name="Aiko", last_name="Tanaka", role="doctor"),
        timezone="Asia/Tokyo",
        fee_amount=8000,
        fee_currency="jpy",
    )
    for weekday in range(7):
        WorkingHoursFactory(doctor=doctor, weekday=weekday, start_time=dt.time(0), end_time=dt.time(23, 30))
    slots_generate(doctor=doctor, days=3)
    return doctor


def test_the_example_client_books_pays_and_sees_the_visit_confirmed(live_server, stripe_delivering_to, tokyo_doctor):
    patient = PatientFactory(email="nia@example.com", first_name="Nia", last_name="Patel")

    done = subprocess.run(  # noqa: S603 - our own script, with our own arguments
        [
            sys.executable,
            str(CLIENT),
            "--base-url",
            live_server.url,
            "--email",
            patient.email,
            "--password",
            TEST_PASSWORD,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )

    assert done.returncode == 0, (done.stdout, done.stderr)
    out = done.stdout
    assert "Logged in as Nia Patel <nia@example.com>" in out
    assert "Soonest free slot: Dr Aiko Tanaka, " in out
    assert "(Asia/Tokyo)" in out
    appointment = Appointment.objects.get(patient=patient)
    assert f"Booked appointment {appointment.pk}: pending_payment, fee 8000 JPY" in out
    assert f"Paying on {stripe_delivering_to.url}/pay/" in out
    assert f"Appointment {appointment.pk} is confirmed; payment paid" in out
    assert "Upcoming appointments: 1" in out
    assert "+09:00 Asia/Tokyo Dr Aiko Tanaka: confirmed" in out
    assert out.rstrip().endswith("Token revoked")
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert appointment.payment.status == PaymentStatus.PAID
    assert appointment.reason == "Booked from the example API client"
    assert not ApiToken.objects.filter(user=patient).exists()


def test_the_example_client_says_why_it_was_refused(live_server):
    patient = PatientFactory(email="nia@example.com")

    done = subprocess.run(  # noqa: S603
        [sys.executable, str(CLIENT), "--base-url", live_server.url, "--email", patient.email, "--password", "wrong"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert "Refused: The e-mail address or password is not right. (401 authentication_failed)" in done.stderr
