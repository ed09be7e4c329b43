"""Row locks take only the rows they mean (hospital/locks.py), with real threads on PostgreSQL."""

import datetime as dt
import threading
import time

import pytest
from django.db import connections, transaction
from django.utils import timezone

from appointments.models import Appointment
from hospital.locks import lock_slot
from hospital.services import slots_generate
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, hold_slot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def in_thread(function) -> tuple[threading.Thread, list]:
    """Run `function` in a thread with its own connection; the list gets its result or error."""
    outcome: list = []

    def run():
        try:
            outcome.append(function())
        except Exception as error:  # the test inspects it
            outcome.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_booking_holding_its_transaction_open_does_not_delay_one_for_another_slot_of_the_same_doctor():
    doctor = DoctorFactory()
    first_slot, second_slot = SlotFactory(doctor=doctor), SlotFactory(doctor=doctor)
    first_patient, second_patient = PatientFactory(), PatientFactory()
    first_is_holding, second_is_done = threading.Event(), threading.Event()

    def slow_booking():
        with transaction.atomic():
            hold_slot(patient=first_patient, slot=first_slot)  # nested: its locks last until this block ends
            first_is_holding.set()
            second_is_done.wait(timeout=5)

    def other_booking():
        first_is_holding.wait(timeout=5)
        started = time.monotonic()
        try:
            return hold_slot(patient=second_patient, slot=second_slot), time.monotonic() - started
        finally:
            second_is_done.set()

    slow, _ = in_thread(slow_booking)
    other, outcome = in_thread(other_booking)
    other.join()
    slow.join()

    appointment, seconds = outcome[0]
    assert isinstance(appointment, Appointment)
    assert seconds < 1.5  # it waited on nothing: with the doctor's row locked too it waits the full 5 s
    assert Appointment.objects.filter(doctor=doctor).count() == 2


def test_a_schedule_edit_and_a_booking_on_the_same_doctor_never_deadlock():
    """The booking locks its slot, the edit locks the doctor and then wants that slot (the schedule
    no longer has it), and the booking then inserts an appointment pointing at the doctor."""
    doctor = DoctorFactory()  # no working hours: every slot is one the schedule no longer wants
    slot = SlotFactory(doctor=doctor, starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=2))
    patient = PatientFactory()
    slot_locked, edit_started = threading.Event(), threading.Event()

    def booking():
        with transaction.atomic():
            lock_slot(slot.pk)
            slot_locked.set()
            edit_started.wait(timeout=5)
            time.sleep(0.5)  # the edit is now waiting for this slot, with the doctor's row locked
            return hold_slot(patient=patient, slot=slot)

    def schedule_edit():
        slot_locked.wait(timeout=5)
        edit_started.set()
        return slots_generate(doctor=doctor)

    booking_thread, booked = in_thread(booking)
    edit_thread, edited = in_thread(schedule_edit)
    booking_thread.join()
    edit_thread.join()

    assert isinstance(booked[0], Appointment), booked
    assert not isinstance(edited[0], Exception), edited
    assert Appointment.objects.get(pk=booked[0].pk).slot_id == slot.pk  # the booked slot was kept
