"""A session replaced by "resume payment" is closed at Stripe even when Stripe could not be reached
at the moment of the resume (issue 8, fault 2.9)."""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from appointments.models import AppointmentStatus as A
from payments.models import SessionClosing
from tests.payments.flows import Flow, run_tasks

pytestmark = pytest.mark.usefixtures("webhook_endpoint")


def resume_when_the_expire_call_fails_once(standin, client) -> tuple[Flow, Client]:
    """Book, then 34 minutes later resume while Stripe answers the old session's expire with a 500."""
    flow = Flow(standin, client)
    patient = Client()
    patient.force_login(flow.appointment.patient)
    standin.control(
        "config", fail_api={"mode": "500", "count": 1, "path_prefix": f"/v1/checkout/sessions/{flow.session_id}/expire"}
    )
    with time_machine.travel(flow.appointment.created_at + dt.timedelta(minutes=34), tick=False):
        response = patient.post(f"/appointments/{flow.appointment.pk}/pay/", follow=True)
    assert "could not reach our payment provider" in response.content.decode()
    assert standin.get(f"checkout/sessions/{flow.session_id}")["status"] == "open"
    return flow, patient


def open_sessions(standin) -> list[str]:
    return [s["id"] for s in standin.get("checkout/sessions")["data"] if s["status"] == "open"]


@pytest.mark.django_db(transaction=True)
def test_the_worker_closes_the_replaced_session_once_stripe_is_back(standin, client):
    flow, _ = resume_when_the_expire_call_fails_once(standin, client)

    run_tasks()  # Stripe is back (the failure was a single one)

    assert standin.get(f"checkout/sessions/{flow.session_id}")["status"] == "expired"
    assert flow.refresh().status == A.PENDING_PAYMENT
    assert SessionClosing.objects.get().closed_at is not None  # done: the sweeper leaves it alone


@pytest.mark.django_db
def test_the_next_resume_closes_the_replaced_session_before_opening_a_new_one(standin, client):
    flow, patient = resume_when_the_expire_call_fails_once(standin, client)

    with time_machine.travel(flow.appointment.created_at + dt.timedelta(minutes=35), tick=False):
        response = patient.post(f"/appointments/{flow.appointment.pk}/pay/")

    assert response.status_code == 303
    assert standin.get(f"checkout/sessions/{flow.session_id}")["status"] == "expired"
    new_session = flow.appointment.payment.checkout_attempts.first().session_id
    assert open_sessions(standin) == [new_session]
    assert response["Location"] == standin.get(f"checkout/sessions/{new_session}")["url"]


@pytest.mark.django_db(transaction=True)
def test_a_replaced_session_paid_before_it_could_be_closed_confirms_the_booking(standin, client):
    flow, _ = resume_when_the_expire_call_fails_once(standin, client)
    flow.pay()  # the patient still had the old page open

    run_tasks()

    appointment = flow.refresh()
    assert appointment.status == A.CONFIRMED
    assert appointment.payment.payment_intent_id == flow.payment_intent_id
