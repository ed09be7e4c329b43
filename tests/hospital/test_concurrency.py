import datetime as dt

import pytest

from hospital.models import Slot
from hospital.services import slots_generate
from tests.concurrency import run_concurrently
from tests.factories import DoctorFactory, WorkingHoursFactory

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
