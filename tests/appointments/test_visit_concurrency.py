"""Two clicks at once apply a doctor's action once: the appointment's row lock makes the second
wait, then see the first's result and be refused."""

import datetime as dt

import pytest
from django.db import connection

from appointments.models import Appointment, AppointmentStatus, VisitNote
from appointments.services import AppointmentTransitionError, appointment_complete, appointment_start
from hospital.models import AuditAction, AuditEntry
from tests.concurrency import run_concurrently
from tests.factories import visit

pytestmark = pytest.mark.django_db(transaction=True)

S = AppointmentStatus


def started_soon() -> Appointment:
    return visit(status=S.CONFIRMED, starts_at=dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=5))


def assert_applied_once(results, *, refusal: str) -> None:
    applied = [r for r in results if isinstance(r, Appointment)]
    refused = [r for r in results if isinstance(r, AppointmentTransitionError)]
    assert len(applied) == 1, results
    assert len(refused) == len(results) - 1, results
    assert {str(error) for error in refused} <= {refusal}


def start_race(threads: int) -> None:
    appointment = started_soon()
    doctor = appointment.doctor.user
    results = run_concurrently(lambda: appointment_start(appointment_id=appointment.pk, doctor=doctor), threads=threads)
    assert_applied_once(results, refusal="This visit has already started.")
    appointment.refresh_from_db()
    assert appointment.status == S.IN_PROGRESS
    assert appointment.log_entries.filter(status=S.IN_PROGRESS).count() == 1


def complete_race(threads: int) -> None:
    appointment = started_soon()
    doctor = appointment.doctor.user
    appointment_start(appointment_id=appointment.pk, doctor=doctor)
    results = run_concurrently(
        lambda: appointment_complete(appointment_id=appointment.pk, doctor=doctor, note_text="Seen; well."),
        threads=threads,
    )
    assert_applied_once(results, refusal="This visit is already completed.")
    appointment.refresh_from_db()
    assert appointment.status == S.COMPLETED
    assert appointment.log_entries.filter(status=S.COMPLETED).count() == 1
    note = VisitNote.objects.get(appointment=appointment)
    assert note.is_signed and note.text == "Seen; well."
    assert AuditEntry.objects.filter(action=AuditAction.SIGN, record_id=str(note.pk)).count() == 1


@pytest.mark.postgres_only
def test_eight_simultaneous_starts_start_the_visit_once_in_each_of_ten_rounds():
    assert connection.vendor == "postgresql"
    for _ in range(10):
        start_race(8)


@pytest.mark.postgres_only
def test_eight_simultaneous_completions_complete_and_sign_once_in_each_of_five_rounds():
    assert connection.vendor == "postgresql"
    for _ in range(5):
        complete_race(8)


def test_two_clicks_on_start_at_once_start_the_visit_once():
    """The same rule on whichever database the suite runs on (SQLite serialises writers)."""
    start_race(2)


def test_two_clicks_on_complete_at_once_sign_the_note_once():
    complete_race(2)
