import datetime as dt
import itertools

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import User
from appointments.models import Appointment, AppointmentStatus, Review, VisitNote
from hospital import timefmt
from hospital.demo import DEMO_PASSWORD
from hospital.models import Doctor, Slot, Specialty, TimeOff, VisitType, WorkingHours
from payments.models import CreditNote, Dispute, Payment, PaymentStatus, Receipt, Refund
from prescriptions.models import Prescription

pytestmark = pytest.mark.django_db

S = AppointmentStatus


def table_sizes() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (
            User, Doctor, Specialty, WorkingHours, TimeOff, Slot, Appointment, Payment, VisitNote, Review, Prescription,
            Refund, Receipt, CreditNote, Dispute,
        )
    )  # fmt: skip


def test_the_demo_day_has_notes_ratings_and_prescriptions_made_by_the_services():
    call_command("seed_demo")
    completed = Appointment.objects.filter(status=S.COMPLETED)
    assert completed.exists()
    # Completing a visit signs its note; a visit under way has its draft.
    assert all(visit.visit_note.signed_at is not None for visit in completed.select_related("visit_note"))
    in_progress = Appointment.objects.get(status=S.IN_PROGRESS, doctor=Doctor.objects.order_by("pk").first())
    assert in_progress.visit_note.signed_at is None and in_progress.visit_note.text
    # Every doctor's first completed visit has a prescription, issued (so with its PDF).
    doctors_with_completed = set(completed.values_list("doctor_id", flat=True))
    assert set(Prescription.objects.values_list("doctor_id", flat=True)) == doctors_with_completed
    assert not Prescription.objects.filter(issued_at__isnull=True).exists()
    # Ratings, through the service: the doctors' totals agree with the reviews, the demo patient
    # has none (the form is open for them), and the last doctor has no reviews at all.
    for doctor in Doctor.objects.all():
        reviews = Review.objects.filter(appointment__doctor=doctor)
        assert doctor.review_count == reviews.count()
        assert doctor.rating_sum == sum(reviews.values_list("rating", flat=True))
    assert Review.objects.count() >= 3
    assert not Review.objects.filter(appointment__patient__email="patient@example.com").exists()
    assert Doctor.objects.filter(is_active=True).order_by("pk").last().review_count == 0


def test_seed_demo_is_idempotent_and_prints_the_logins(capsys):
    call_command("seed_demo")
    first = table_sizes()
    output = capsys.readouterr().out

    call_command("seed_demo")
    assert table_sizes() == first

    assert "admin@example.com" in output
    assert "patient@example.com" in output
    assert DEMO_PASSWORD in output
    assert Doctor.objects.count() >= 8
    assert Doctor.objects.values("timezone").distinct().count() >= 3
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.is_staff and admin.check_password(DEMO_PASSWORD)
    assert User.objects.get(email="patient@example.com").patient_profile


def visits_today(doctor: Doctor, now: dt.datetime) -> list[Appointment]:
    today = timefmt.local(now, doctor.timezone).date()
    return [
        visit
        for visit in Appointment.objects.filter(doctor=doctor).select_related("slot", "payment", "patient")
        if timefmt.local(visit.slot.starts_at, doctor.timezone).date() == today
    ]


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2026, 6, 3, 10, 7, tzinfo=dt.UTC),  # the middle of the day in London, evening in Tokyo
        dt.datetime(2026, 6, 3, 15, 10, tzinfo=dt.UTC),  # just after midnight in Tokyo, Sydney's late night
        dt.datetime(2026, 3, 8, 7, 40, tzinfo=dt.UTC),  # New York's clocks went forward 40 minutes ago
    ],
    ids=["midday-london", "midnight-tokyo", "dst-new-york"],
)
def test_every_doctor_has_a_day_of_paid_visits_today_on_their_own_clock(now):
    with time_machine.travel(now, tick=False):
        call_command("seed_demo", stdout=None)

    for doctor in Doctor.objects.all():
        visits = visits_today(doctor, now)
        statuses = [visit.status for visit in sorted(visits, key=lambda visit: visit.slot.starts_at)]
        assert statuses.count(S.COMPLETED) == 2, doctor.timezone
        assert statuses.count(S.IN_PROGRESS) == 1
        assert statuses.count(S.CONFIRMED) == 3
        assert statuses.index(S.IN_PROGRESS) == 2  # done, under way, to come: in the order of the day
        assert all(visit.payment.status == PaymentStatus.PAID and visit.payment.is_paid for visit in visits)
        assert {visit.patient.email for visit in visits} <= {"patient@example.com", "sam.taylor@example.com",
                                                             "jordan.lee@example.com"}  # fmt: skip
        assert all(visit.slot.ends_at - visit.slot.starts_at == dt.timedelta(minutes=doctor.slot_minutes)
                   for visit in visits)  # fmt: skip


def test_the_visit_under_way_started_before_now_and_the_next_one_can_start(settings):
    now = dt.datetime(2026, 6, 3, 10, 7, tzinfo=dt.UTC)  # 11:07 in London
    with time_machine.travel(now, tick=False):
        call_command("seed_demo", stdout=None)

    okafor = Doctor.objects.get(user__email="amara.okafor@example.com")  # 30-minute slots
    visits = sorted(visits_today(okafor, now), key=lambda visit: visit.slot.starts_at)
    local = [timefmt.local(visit.slot.starts_at, okafor.timezone).strftime("%H:%M") for visit in visits]
    assert local == ["09:30", "10:00", "10:30", "11:00", "11:30", "12:00"]
    assert visits[3].status == S.CONFIRMED and visits[3].slot.starts_at <= now  # startable now


def test_each_visit_takes_place_where_its_doctor_sees_patients():
    with time_machine.travel(dt.datetime(2026, 6, 3, 10, 7, tzinfo=dt.UTC), tick=False):
        call_command("seed_demo", stdout=None)

    tanaka = Appointment.objects.filter(doctor__user__email="hiroshi.tanaka@example.com")
    assert set(tanaka.values_list("visit_type", "location_site", "location_room", "video_room")) == {
        (VisitType.IN_PERSON, "Riverside Building, 1 Riverside Way", "Room 3.02, Orthopaedics", "")
    }
    by_video = Appointment.objects.filter(doctor__user__email="sofia.marquez@example.com")
    assert set(by_video.values_list("visit_type", flat=True)) == {VisitType.VIDEO}
    assert len({visit.video_room for visit in by_video}) == by_video.count() >= 6  # a room of its own each


def test_each_visit_was_booked_when_it_was_paid_days_before():
    now = dt.datetime(2026, 6, 3, 10, 7, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        call_command("seed_demo", stdout=None)

    visits = Appointment.objects.select_related("payment", "slot")
    assert visits.exists()
    for visit in visits:
        assert visit.created_at == visit.payment.paid_at <= now - dt.timedelta(days=3)
        assert visit.created_at < visit.slot.starts_at


def test_a_second_run_later_the_same_day_keeps_the_day_and_the_next_day_gets_its_own():
    first_run = dt.datetime(2026, 6, 3, 9, tzinfo=dt.UTC)
    with time_machine.travel(first_run, tick=False):
        call_command("seed_demo", stdout=None)
    sizes = table_sizes()
    with time_machine.travel(first_run + dt.timedelta(hours=3), tick=False):
        call_command("seed_demo", stdout=None)
    assert table_sizes() == sizes

    next_day = first_run + dt.timedelta(days=1)
    with time_machine.travel(next_day, tick=False):
        call_command("seed_demo", stdout=None)
    assert all(len(visits_today(doctor, next_day)) == 6 for doctor in Doctor.objects.all())


def test_slot_generation_afterwards_keeps_the_visits_and_adds_nothing_over_them():
    now = dt.datetime(2026, 6, 3, 10, 7, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        call_command("seed_demo", stdout=None)
        call_command("generate_slots", stdout=None)

    for doctor in Doctor.objects.all():
        slots = list(Slot.objects.filter(doctor=doctor).order_by("starts_at"))
        assert all(a.ends_at <= b.starts_at for a, b in itertools.pairwise(slots)), doctor.timezone
        assert len(visits_today(doctor, now)) == 6
