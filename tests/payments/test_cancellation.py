"""Canceling a paid visit: the patient by the policy copied at booking, the doctor or the hospital
in full; the refund is a row issued by the refund worker at the stand-in."""

import datetime as dt

import pytest

from appointments.models import AppointmentStatus
from hospital.models import OutboundEmail
from payments.models import Refund, RefundReason, RefundStatus
from payments.services import refund_issue
from payments.services.cancellation import CancelRefused, appointment_cancel
from tests.factories import StaffFactory
from tests.payments import handmade

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def _issue_refunds() -> None:
    for pk in Refund.objects.filter(status=RefundStatus.REQUESTED).values_list("pk", flat=True):
        refund_issue(refund_id=pk)


def test_a_patient_canceling_a_day_ahead_gets_everything_back_at_the_standin(standin, client):
    payment = handmade.paid_flow(standin, client).refresh().payment
    now = payment.refund_clock_at - dt.timedelta(hours=24)  # exactly at the boundary: the better refund

    quote = appointment_cancel(appointment_id=payment.appointment_id, by=payment.appointment.patient, now=now)
    _issue_refunds()

    payment.refresh_from_db()
    appointment = payment.appointment
    appointment.refresh_from_db()
    assert (quote.percent, quote.amount) == (100, payment.captured_amount)
    assert appointment.status == AppointmentStatus.CANCELED
    refund = Refund.objects.get(payment=payment)
    assert (refund.reason, refund.requested_by, refund.status) == (
        RefundReason.PATIENT_CANCELED,
        appointment.patient,
        RefundStatus.SUCCEEDED,
    )
    assert standin.get(f"payment_intents/{payment.payment_intent_id}")["amount_received"] == payment.captured_amount
    assert sum(r["amount"] for r in standin.get(f"refunds?payment_intent={payment.payment_intent_id}")["data"]) == (
        payment.captured_amount
    )


def test_one_second_inside_the_partial_window_gives_half_rounded_down(standin, client):
    payment = handmade.paid_flow(standin, client).refresh().payment
    now = payment.refund_clock_at - dt.timedelta(hours=24) + dt.timedelta(seconds=1)

    quote = appointment_cancel(appointment_id=payment.appointment_id, by=payment.appointment.patient, now=now)

    assert (quote.percent, quote.amount) == (50, payment.captured_amount * 50 // 100)


def test_staff_cancel_in_full_and_must_say_why(standin, client):
    flow = handmade.paid_flow(standin, client)
    staff = StaffFactory()
    with pytest.raises(CancelRefused, match="say why"):
        appointment_cancel(appointment_id=flow.appointment.pk, by=staff, note="  ")
    payment = flow.refresh().payment
    assert flow.appointment.status == AppointmentStatus.CONFIRMED

    late = payment.refund_clock_at - dt.timedelta(minutes=30)
    quote = appointment_cancel(appointment_id=flow.appointment.pk, by=staff, note="The clinic is closed.", now=late)

    assert quote.amount == payment.captured_amount
    email = OutboundEmail.objects.get(key=f"appointment-canceled:{flow.appointment.pk}")
    assert email.to == flow.appointment.patient.email
    assert "Why: The clinic is closed." in email.body
    assert "$50.00 is being refunded" in email.body
