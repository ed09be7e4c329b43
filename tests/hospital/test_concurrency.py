import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connections, transaction

from hospital.models import Slot, TimeOff
from hospital.services import slots_generate, time_off_add
from tests.concurrency import run_concurrently
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, WorkingHoursFactory, hold_slot

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_regenerations_of_one_doctor_create_each_slot_once():
    doctor = DoctorFactory(timezone="Europe/London")
    for weekday in range(7):
        WorkingHoursFactory(doctor=doctor, weekday=weekday, start_time=dt.time(9), end_time=dt.time(17))
    now = dt.datetime(2026, 6, 1, 0, tzinfo=dt.UTC)

    results = run_concurrently(lambda: slots_generate(doctor=doctor, days=28, now=now), threads=8)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(r.created for r in results) == 28 * 16
    assert Slot.objects.filter(doctor=doctor).count() == 28 * 16


@pytest.mark.postgres_only
def test_time_off_waits_for_a_booking_in_flight_and_then_refuses_it():
    """The booking holds its slot's lock until it commits; time off over that slot takes the same
    lock before it looks for visits, so it sees the new hold instead of slipping past it."""
    doctor = DoctorFactory(timezone="Europe/London")
    slot = SlotFactory(doctor=doctor)
    patient = PatientFactory()
    booking_open = threading.Event()

    def book():
        with transaction.atomic():
            hold_slot(patient=patient, slot=slot)
            booking_open.set()
            time.sleep(0.5)  # time off starts meanwhile and must wait for this commit
        connections.close_all()

    def take_time_off():
        booking_open.wait(timeout=5)
        try:
            return time_off_add(doctor=doctor, starts_at=slot.starts_at, ends_at=slot.ends_at)
        except ValidationError as refused:
            return refused
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        booking, time_off = pool.submit(book), pool.submit(take_time_off)
        booking.result()
        outcome = time_off.result()

    assert isinstance(outcome, ValidationError), outcome
    assert "Awaiting payment" in outcome.messages[1]
    assert not TimeOff.objects.exists()
