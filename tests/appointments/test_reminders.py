"""The reminder 24 hours before a visit: `send_reminders` queues one per confirmed visit starting
within the next day, skips visits booked less than a day ahead (their confirmation has just told
them), and can run as often as cron likes without reminding anyone twice."""

import datetime as dt
import zoneinfo
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import PatientProfile
from appointments.emails import visit_headline
from appointments.models import Appointment
from appointments.services import appointment_reminders_queue
from hospital.models import OutboundEmail
from hospital.notifications import email_deliver
from tests.appointments.test_visit_place import new_york_doctor, tokyo_doctor
from tests.factories import PatientFactory, SlotFactory, visit

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(hours=24)


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


def visit_starting(starts_at: dt.datetime, *, booked_at: dt.datetime | None = None, **kwargs) -> Appointment:
    appointment = visit(starts_at=starts_at, **kwargs)
    Appointment.objects.filter(pk=appointment.pk).update(created_at=booked_at or starts_at - dt.timedelta(days=3))
    return appointment


def reminded(now: dt.datetime) -> list[int]:
    return sorted(appointment.pk for appointment in appointment_reminders_queue(now=now))


def test_the_window_is_the_next_24_hours_both_edges_checked(now):
    just_started = visit_starting(now)
    in_a_minute = visit_starting(now + dt.timedelta(minutes=1))
    a_day_ahead = visit_starting(now + DAY)
    past_a_day = visit_starting(now + DAY + dt.timedelta(seconds=1))

    assert reminded(now) == sorted([in_a_minute.pk, a_day_ahead.pk])
    assert {just_started.pk, past_a_day.pk}.isdisjoint(
        OutboundEmail.objects.filter(key__startswith="appointment-reminder:").values_list("key", flat=True)
    )
    # The one just past the edge comes into the window a second later.
    assert reminded(now + dt.timedelta(seconds=1)) == [past_a_day.pk]


def test_a_visit_booked_less_than_a_day_ahead_gets_no_reminder_its_confirmation_was_enough(now):
    starts_at = now + dt.timedelta(hours=5)
    booked_late = visit_starting(starts_at, booked_at=starts_at - DAY + dt.timedelta(seconds=1))
    later = starts_at + dt.timedelta(hours=1)
    booked_a_day_ahead = visit_starting(later, booked_at=later - DAY)

    assert reminded(now) == [booked_a_day_ahead.pk]
    assert not OutboundEmail.objects.filter(key__startswith=f"appointment-reminder:{booked_late.pk}:").exists()


@pytest.mark.parametrize("status", ["pending_payment", "canceled", "expired", "in_progress", "completed"])
def test_only_confirmed_visits_are_reminded(now, status):
    visit_starting(now + dt.timedelta(hours=3), status=status, paid=status != "pending_payment")

    assert reminded(now) == []


def test_running_again_reminds_nobody_twice_and_the_command_says_what_it_queued(now):
    appointment = visit_starting(now + dt.timedelta(hours=3))

    first, second = StringIO(), StringIO()
    call_command("send_reminders", stdout=first)
    call_command("send_reminders", stdout=second)

    assert first.getvalue().splitlines() == [
        f"Reminder queued: booking #{appointment.pk}, {visit_headline(appointment)}",
        "1 reminder(s) queued.",
    ]
    assert second.getvalue().splitlines() == ["0 reminder(s) queued."]
    assert OutboundEmail.objects.filter(key__startswith="appointment-reminder:").count() == 1


def test_a_visit_moved_after_its_reminder_is_reminded_of_its_new_time(now):
    appointment = visit_starting(now + dt.timedelta(hours=3))
    assert reminded(now) == [appointment.pk]
    later = SlotFactory(doctor=appointment.doctor, starts_at=now + dt.timedelta(hours=6))
    Appointment.objects.filter(pk=appointment.pk).update(slot=later)

    assert reminded(now) == [appointment.pk]
    assert OutboundEmail.objects.filter(key__startswith=f"appointment-reminder:{appointment.pk}:").count() == 2


@pytest.mark.parametrize(
    ("make_doctor", "patient_zone"), [(tokyo_doctor, "America/New_York"), (new_york_doctor, "Asia/Tokyo")]
)
def test_the_reminder_names_the_time_on_both_clocks_and_links_to_cancel_and_reschedule(
    now, settings, make_doctor, patient_zone
):
    settings.SITE_URL = "https://care.example.org"
    patient = PatientFactory()
    PatientProfile.objects.filter(user=patient).update(timezone=patient_zone)
    appointment = visit_starting(now + dt.timedelta(hours=20), doctor=make_doctor(), patient=patient)

    appointment_reminders_queue(now=now)
    email_deliver(email_id=OutboundEmail.objects.get(key__startswith="appointment-reminder:").pk)

    [message] = mail.outbox
    assert message.subject == f"Reminder: {visit_headline(appointment)}"
    html = message.alternatives[0][0]
    starts = appointment.slot.starts_at.astimezone(appointment.doctor.zone)
    for body in (message.body, html):
        assert f"{starts:%H:%M} {starts.tzname()} ({appointment.doctor.timezone})" in body
        yours = appointment.slot.starts_at.astimezone(zoneinfo.ZoneInfo(patient_zone))
        assert f"{yours:%H:%M} {yours.tzname()}" in body.split("your time: ")[1]
        assert f"https://care.example.org/appointments/{appointment.pk}/cancel/" in body
        assert f"https://care.example.org/appointments/{appointment.pk}/reschedule/" in body
        assert appointment.reason not in body  # no health data in a reminder
    assert appointment.doctor.site in message.body
