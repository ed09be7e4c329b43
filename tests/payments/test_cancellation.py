"""Canceling a paid visit: the patient by the policy copied at booking, the doctor or the hospital
in full; the refund is a row issued by the refund worker at the stand-in."""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from hospital.models import OutboundEmail
from payments.models import CancellationPolicy, Payment, Refund, RefundReason, RefundStatus
from payments.selectors import cancellation_policy_lines, deadline_words, visit_policy_lines
from payments.services import refund_issue
from payments.services.cancellation import CancelRefused, appointment_cancel
from tests.factories import DoctorFactory, StaffFactory, visit
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


# --- the policy's arithmetic and its words -----------------------------------------------------


def _paid_visit(**kwargs):
    """A confirmed visit paid in full, with the payment intent a refund needs."""
    appointment = visit(**kwargs)
    Payment.objects.filter(appointment=appointment).update(payment_intent_id=f"pi_test_{appointment.pk}")
    return Appointment.objects.select_related("payment", "slot", "doctor").get(pk=appointment.pk)


@pytest.mark.parametrize(
    ("ahead", "percent"),
    [
        (dt.timedelta(hours=24), 100),  # exactly at the boundary: the better refund
        (dt.timedelta(hours=24) - dt.timedelta(seconds=1), 50),
        (dt.timedelta(hours=2), 50),
        (dt.timedelta(hours=2) - dt.timedelta(seconds=1), 0),
    ],
)
def test_the_windows_are_exact_to_the_second(ahead, percent):
    appointment = _paid_visit(starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=3))
    now = appointment.payment.refund_clock_at - ahead

    quote = appointment_cancel(appointment_id=appointment.pk, by=appointment.patient, now=now)

    assert (quote.percent, quote.amount) == (percent, 5000 * percent // 100)
    refunds = Refund.objects.filter(payment=appointment.payment)
    assert [refund.amount for refund in refunds] == ([5000 * percent // 100] if percent else [])
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELED


@pytest.mark.parametrize(("currency", "fee", "half"), [("jpy", 3333, 1666), ("usd", 2599, 1299)])
def test_half_rounds_down_to_the_minor_unit(currency, fee, half):
    appointment = _paid_visit(doctor=DoctorFactory(fee_amount=fee, fee_currency=currency))
    now = appointment.payment.refund_clock_at - dt.timedelta(hours=3)

    quote = appointment_cancel(appointment_id=appointment.pk, by=appointment.patient, now=now)

    assert quote.amount == half
    assert Refund.objects.get(payment=appointment.payment).amount == half


NEW_YORK = "America/New_York"


def _new_york(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo(NEW_YORK))


def test_across_the_spring_change_the_day_before_is_24_elapsed_hours_not_the_same_wall_clock():
    """Clocks in New York go forward at 02:00 on Sun 8 Mar 2026. A visit at 09:00 that Sunday:
    24 elapsed hours before is 08:00 EST on the Saturday, not 09:00."""
    visit_at = _new_york(2026, 3, 8, 9, 0)
    policy = CancellationPolicy.in_force()
    assert policy.refund_percent(clock_at=visit_at, now=_new_york(2026, 3, 7, 8, 0)) == 100
    assert policy.refund_percent(clock_at=visit_at, now=_new_york(2026, 3, 7, 8, 0, 1)) == 50
    assert policy.refund_percent(clock_at=visit_at, now=_new_york(2026, 3, 7, 9, 0)) == 50  # 23 hours ahead

    lines = cancellation_policy_lines(terms=policy, clock_at=visit_at, fee=5000, currency="usd", zone=NEW_YORK)
    assert lines == [
        "Full refund ($50.00) if you cancel by Sat 7 Mar 2026, 08:00 EST",
        "50 % back ($25.00) if you cancel by Sun 8 Mar 2026, 07:00 EDT",
        "No refund if you cancel after Sun 8 Mar 2026, 07:00 EDT",
    ]


def test_a_monday_visit_after_the_change_counts_24_hours_back_to_sunday_on_the_new_clock():
    """Mon 9 Mar 2026 09:00 EDT: the change (Sunday 02:00) is more than a day before, so the
    full-refund deadline is Sunday 09:00 EDT, the wall clock unchanged."""
    appointment = _paid_visit(
        doctor=DoctorFactory(timezone=NEW_YORK), starts_at=_new_york(2026, 3, 9, 9, 0).astimezone(dt.UTC)
    )
    quote_at = _new_york(2026, 3, 8, 9, 0)

    assert appointment.payment.refund_percent(clock_at=appointment.payment.refund_clock_at, now=quote_at) == 100
    assert visit_policy_lines(appointment=appointment, payment=appointment.payment)[0] == (
        "Full refund ($50.00) if you cancel by Sun 8 Mar 2026, 09:00 EDT"
    )


TOKYO = "Asia/Tokyo"
VISIT_IN_TOKYO = dt.datetime(2026, 12, 8, 10, 0, tzinfo=zoneinfo.ZoneInfo(TOKYO))


@pytest.mark.parametrize(
    ("terms", "lines"),
    [
        (
            {},
            [
                "Full refund (¥3,333) if you cancel by Mon 7 Dec 2026, 10:00 JST",
                "50 % back (¥1,666) if you cancel by Tue 8 Dec 2026, 08:00 JST",
                "No refund if you cancel after Tue 8 Dec 2026, 08:00 JST",
            ],
        ),
        (  # no partial share: no "0 % back" line
            {"partial_refund_percent": 0},
            [
                "Full refund (¥3,333) if you cancel by Mon 7 Dec 2026, 10:00 JST",
                "No refund if you cancel after Mon 7 Dec 2026, 10:00 JST",
            ],
        ),
        (  # both windows end together: the partial one is empty
            {"partial_refund_hours": 24},
            [
                "Full refund (¥3,333) if you cancel by Mon 7 Dec 2026, 10:00 JST",
                "No refund if you cancel after Mon 7 Dec 2026, 10:00 JST",
            ],
        ),
        (  # a 100 % "partial" share is a longer full refund
            {"partial_refund_percent": 100},
            [
                "Full refund (¥3,333) if you cancel by Tue 8 Dec 2026, 08:00 JST",
                "No refund if you cancel after Tue 8 Dec 2026, 08:00 JST",
            ],
        ),
        (  # refunded in full up to the start: nothing is ever kept
            {"full_refund_hours": 0, "partial_refund_hours": 0},
            ["Full refund (¥3,333) if you cancel by Tue 8 Dec 2026, 10:00 JST"],
        ),
    ],
)
def test_policy_lines_never_show_an_empty_or_contradictory_window(terms, lines):
    policy = CancellationPolicy(**terms)
    assert (
        cancellation_policy_lines(terms=policy, clock_at=VISIT_IN_TOKYO, fee=3333, currency="jpy", zone=TOKYO) == lines
    )


def test_policy_lines_leave_out_windows_already_over():
    lines = cancellation_policy_lines(
        terms=CancellationPolicy(),
        clock_at=VISIT_IN_TOKYO,
        fee=3333,
        currency="jpy",
        zone=TOKYO,
        now=VISIT_IN_TOKYO - dt.timedelta(hours=5),
    )
    assert lines == [
        "50 % back (¥1,666) if you cancel by Tue 8 Dec 2026, 08:00 JST",
        "No refund if you cancel after Tue 8 Dec 2026, 08:00 JST",
    ]


def test_the_confirmation_email_prints_the_policy_copied_at_booking(standin, client):
    flow = handmade.paid_flow(standin, client)
    payment = flow.refresh().payment
    email = OutboundEmail.objects.get(key=f"appointment-confirmed:{flow.appointment.pk}")

    full_by = payment.refund_clock_at - dt.timedelta(hours=24)
    assert "Cancellation policy (times are the doctor's, Europe/London):" in email.body
    assert f"  - Full refund ($50.00) if you cancel by {deadline_words(full_by, 'Europe/London')}" in email.body
    assert "  - 50 % back ($25.00) if you cancel by" in email.body


# --- the doctor cancels -------------------------------------------------------------------------


def test_the_doctor_cancels_from_the_visit_page_in_full_and_the_patient_reads_why(client):
    appointment = _paid_visit()
    client.force_login(appointment.doctor.user)
    page = client.get(reverse("appointments:detail", args=[appointment.pk]))
    assert "Cancel the visit and refund the patient" in page.text

    refused = client.post(reverse("appointments:doctor_cancel", args=[appointment.pk]), {"cancel-note": " "})
    assert refused.status_code == 400
    assert "Please say why, for the patient" in refused.text
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED

    response = client.post(
        reverse("appointments:doctor_cancel", args=[appointment.pk]), {"cancel-note": "I am unwell that day."}
    )
    assert response.status_code == 303
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason, appointment.cancel_note) == (
        AppointmentStatus.CANCELED,
        "doctor",
        "I am unwell that day.",
    )
    refund = Refund.objects.get(payment=appointment.payment)
    assert (refund.amount, refund.reason, refund.requested_by) == (
        5000,
        RefundReason.DOCTOR_CANCELED,
        appointment.doctor.user,
    )
    email = OutboundEmail.objects.get(key=f"appointment-canceled:{appointment.pk}")
    assert "Why: I am unwell that day." in email.body
    assert "I am unwell" not in email.subject

    client.force_login(appointment.patient)
    page = client.get(reverse("appointments:detail", args=[appointment.pk]))
    assert "Canceled by the doctor. Why: I am unwell that day." in page.text
    assert "Refund of $50.00: <strong>pending</strong>" in page.text


def test_another_doctor_cannot_cancel_the_visit(client):
    appointment = _paid_visit()
    client.force_login(DoctorFactory().user)
    response = client.post(reverse("appointments:doctor_cancel", args=[appointment.pk]), {"cancel-note": "No."})
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert not Refund.objects.exists()
