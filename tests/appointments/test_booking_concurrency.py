import queue

import pytest
from django.db import connection

from appointments.models import Appointment, AppointmentStatus
from appointments.services import BookingError
from payments.models import Payment
from tests.concurrency import run_concurrently
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, hold_slot

pytestmark = pytest.mark.django_db(transaction=True)


def race_for_one_slot(*, patients, slot) -> list[object]:
    waiting = queue.SimpleQueue()
    for patient in patients:
        waiting.put(patient)
    return run_concurrently(lambda: hold_slot(patient=waiting.get(), slot=slot), threads=len(patients))


def assert_exactly_one_hold(results, slot) -> None:
    booked = [r for r in results if isinstance(r, Appointment)]
    refused = [r for r in results if isinstance(r, BookingError)]
    unexpected = [r for r in results if not isinstance(r, Appointment | BookingError)]
    assert unexpected == []
    assert len(booked) == 1
    assert {str(error) for error in refused} == {
        "Sorry, someone has just booked this time. Please choose another slot."
    }
    assert Appointment.objects.filter(slot=slot, status=AppointmentStatus.PENDING_PAYMENT).count() == 1
    assert Payment.objects.filter(appointment__slot=slot).count() == 1


@pytest.mark.postgres_only
def test_fifty_patients_racing_for_one_slot_get_one_hold_in_each_of_twenty_rounds():
    assert connection.vendor == "postgresql"
    doctor = DoctorFactory()
    patients = [PatientFactory() for _ in range(50)]
    for _ in range(20):
        slot = SlotFactory(doctor=doctor)
        assert_exactly_one_hold(race_for_one_slot(patients=patients, slot=slot), slot)
        # The winner pays, so the unpaid-holds limit never decides a later round.
        Appointment.objects.filter(slot=slot).update(status=AppointmentStatus.CONFIRMED)
    assert Appointment.objects.count() == 20


def test_ten_patients_racing_for_one_slot_get_one_hold():
    """The same rule on whichever database the suite runs on (SQLite serialises writers)."""
    doctor = DoctorFactory()
    patients = [PatientFactory() for _ in range(10)]
    for _ in range(3):
        slot = SlotFactory(doctor=doctor)
        assert_exactly_one_hold(race_for_one_slot(patients=patients, slot=slot), slot)
        Appointment.objects.filter(slot=slot).update(status=AppointmentStatus.CONFIRMED)


def test_one_patient_booking_five_slots_at_once_still_holds_at_most_three():
    patient = PatientFactory()
    doctor = DoctorFactory()
    slots = queue.SimpleQueue()
    for _ in range(5):
        slots.put(SlotFactory(doctor=doctor))
    results = run_concurrently(lambda: hold_slot(patient=patient, slot=slots.get()), threads=5)
    assert sum(isinstance(r, Appointment) for r in results) == 3
    assert sum(isinstance(r, BookingError) and "waiting for payment" in str(r) for r in results) == 2
    assert Appointment.objects.filter(patient=patient).count() == 3
