"""Webhooks that failed while the database was down are delivered again by Stripe and succeed
(issue 13, faults): the webhook answers 5xx while it cannot store the event, so Stripe retries;
after the restore a retry lands, the appointment is confirmed once and one confirmation e-mail
is recorded."""

from __future__ import annotations

import time

import pytest

from appointments.models import Appointment, AppointmentStatus
from hospital.middleware import UNAVAILABLE_MESSAGE
from hospital.models import OutboundEmail
from payments.models import CheckoutAttempt, PaymentStatus
from payments.webhooks import webhook_endpoint_ensure, webhook_url_path
from tests.factories import PatientFactory, SlotFactory
from tests.faults.conftest import logged_in

pytestmark = pytest.mark.postgres_only

# Stripe backs off between attempts; here 0.25 s, doubling, so the cut below sees several
# attempts fail and the first one after the restore comes within a few seconds.
RETRY_SECONDS = 0.25
MAX_ATTEMPTS = 10
FAILED_ATTEMPTS_WANTED = 2
WAIT_SECONDS = 20


def sent_events(standin) -> list[dict]:
    """The events Stripe sends our endpoint (it subscribes to the ones we handle)."""
    return [event for event in standin.process.events() if event["delivery"] != "not_enabled"]


def failed_attempts(standin) -> dict[str, list[dict]]:
    return {event["type"]: event["attempts"] for event in sent_events(standin)}


def test_webhooks_failed_during_a_database_cut_are_retried_and_confirm_the_booking_once(app_server, db_proxy, standin):
    webhook_endpoint_ensure(base_url=app_server.url)
    patient = PatientFactory()
    slot = SlotFactory()
    response = logged_in(patient, app_server.url).post(f"/appointments/book/{slot.pk}/", {"reason": ""})
    assert response.status_code == 303, response.text[:500]
    appointment = Appointment.objects.get(slot=slot)
    session_id = CheckoutAttempt.objects.get(payment__appointment=appointment).session_id
    standin.control(
        "config",
        withhold=False,
        webhook_url=app_server.url + webhook_url_path(),
        webhook_max_attempts=MAX_ATTEMPTS,
        webhook_retry_seconds=RETRY_SECONDS,
    )

    db_proxy.cut()
    try:
        standin.pay(session_id)  # the patient pays on Stripe's page while our database is down
        deadline = time.monotonic() + WAIT_SECONDS
        while min(map(len, failed_attempts(standin).values()), default=0) < FAILED_ATTEMPTS_WANTED:
            assert time.monotonic() < deadline, f"no retries seen: {failed_attempts(standin)}"
            time.sleep(0.1)
    finally:
        db_proxy.restore()
    assert standin.process.wait_idle(timeout=WAIT_SECONDS)

    events = sent_events(standin)
    assert "checkout.session.completed" in {e["type"] for e in events}
    for event in events:
        *failed, last = event["attempts"]
        assert event["delivery"] == "delivered", (event["type"], event["attempts"], app_server.log_tail())
        assert last["status"] == 200
        # While the database was down the webhook said so with a 503, never a 2xx that would
        # make Stripe forget the event, nor a bare 500.
        assert len(failed) >= FAILED_ATTEMPTS_WANTED
        assert {attempt["status"] for attempt in failed} == {503}
        assert all(UNAVAILABLE_MESSAGE in attempt["response"] for attempt in failed)

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert appointment.payment.status == PaymentStatus.PAID
    assert appointment.payment.captured_amount == appointment.payment.amount
    emails = OutboundEmail.objects.filter(to=patient.email)
    assert [e.key for e in emails] == [f"appointment-confirmed:{appointment.pk}"]
