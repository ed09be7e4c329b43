"""A hold never outlives the slot's start, and money for a visit that was not confirmed before its
start goes back in full (issue 8, fault 2.5)."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from appointments.models import AppointmentStatus as A
from hospital.models import OutboundEmail
from payments.models import CheckoutAttempt, RefundReason, RefundStatus
from tests.factories import SlotFactory
from tests.payments.flows import Flow

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def slot_in(minutes: int):
    starts = timezone.now().replace(microsecond=0) + dt.timedelta(minutes=minutes)
    return SlotFactory(starts_at=starts, ends_at=starts + dt.timedelta(minutes=30))


def patient_client_for(appointment) -> Client:
    client = Client()
    client.force_login(appointment.patient)
    return client


def test_a_payment_for_a_pending_hold_that_arrives_after_the_start_is_refunded_in_full(standin, client):
    flow = Flow(standin, client, slot=slot_in(65))
    flow.pay()
    events = flow.events()

    # Stripe's event reaches us only once the visit has begun; nothing had ended the hold yet.
    with time_machine.travel(flow.slot.starts_at + dt.timedelta(minutes=1), tick=False):
        flow.deliver(events)

    appointment = flow.refresh()
    assert appointment.status == A.EXPIRED
    refund = appointment.payment.refunds.get()
    assert (refund.reason, refund.status, refund.amount) == (
        RefundReason.LATE_PAYMENT,
        RefundStatus.REQUESTED,
        appointment.payment.captured_amount,
    )
    assert appointment.log_entries.last().message == (
        "Your payment arrived after the appointment's start time; it is being refunded in full."
    )
    [email] = OutboundEmail.objects.filter(to=appointment.patient.email)
    assert email.subject == "Your payment is being refunded"
    assert "only after the appointment's start time" in email.body
    assert "someone else has booked" not in email.body


def test_a_late_payment_after_the_start_is_refunded_even_though_the_slot_is_free(standin, client):
    flow = Flow(standin, client, slot=slot_in(65))
    flow.pay()
    events = flow.events()
    start = flow.slot.starts_at

    with time_machine.travel(start + dt.timedelta(minutes=5), tick=False):
        flow.deliver(events)

    appointment = flow.refresh()
    assert appointment.status == A.EXPIRED
    assert appointment.payment.refunds.get().reason == RefundReason.LATE_PAYMENT
    assert not OutboundEmail.objects.filter(subject__startswith="Appointment confirmed").exists()


def test_the_hold_never_reaches_past_the_start_and_resume_is_refused_once_a_new_session_would(standin, client):
    flow = Flow(standin, client, slot=slot_in(70))  # bookable: 70 minutes ahead, the cut-off is 60
    appointment = flow.refresh()
    assert appointment.hold_expires_at <= flow.slot.starts_at
    held_until = appointment.hold_expires_at

    # 34 minutes later the page is about to expire; a new one (35 + 5 minutes) would outlive the start.
    with time_machine.travel(appointment.created_at + dt.timedelta(minutes=34), tick=False):
        response = patient_client_for(appointment).post(f"/appointments/{appointment.pk}/pay/", follow=True)

    assert "too close to the appointment&#x27;s start to pay online" in response.content.decode()
    appointment = flow.refresh()
    assert appointment.hold_expires_at == held_until
    assert CheckoutAttempt.objects.filter(payment__appointment=appointment).count() == 1
    assert len(standin.get("checkout/sessions")["data"]) == 1
