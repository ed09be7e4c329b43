import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from hospital.models import Slot
from hospital.services import slots_generate, wall_time_to_utc
from tests.factories import DoctorFactory, SlotFactory, TimeOffFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def local_wall_times(doctor, day: dt.date) -> list[str]:
    """The doctor's slots on one local day, as the wall-clock times a patient would read."""
    zone = doctor.zone
    times = [slot.starts_at.astimezone(zone) for slot in Slot.objects.filter(doctor=doctor).order_by("starts_at")]
    return [t.strftime("%H:%M") for t in times if t.date() == day]


def doctor_working(zone: str, weekday: int, start: str, end: str, slot_minutes: int = 30):
    doctor = DoctorFactory(timezone=zone, slot_minutes=slot_minutes)
    WorkingHoursFactory(
        doctor=doctor, weekday=weekday, start_time=dt.time.fromisoformat(start), end_time=dt.time.fromisoformat(end)
    )
    return doctor


class TestDaylightSavingTime:
    def test_london_spring_forward_skips_the_hour_that_does_not_exist(self):
        # Sunday 29 March 2026: clocks jump from 01:00 GMT to 02:00 BST.
        doctor = doctor_working("Europe/London", weekday=6, start="00:00", end="03:00")
        slots_generate(doctor=doctor, days=3, now=utc(2026, 3, 27, 12))

        assert local_wall_times(doctor, dt.date(2026, 3, 29)) == ["00:00", "00:30", "02:00", "02:30"]
        starts = list(Slot.objects.filter(doctor=doctor).values_list("starts_at", flat=True))
        assert starts == [
            utc(2026, 3, 29, 0, 0),
            utc(2026, 3, 29, 0, 30),
            utc(2026, 3, 29, 1, 0),
            utc(2026, 3, 29, 1, 30),
        ]

    def test_london_fall_back_gives_the_repeated_hour_one_slot_at_its_first_occurrence(self):
        # Sunday 25 October 2026: 01:00–02:00 happens twice (BST, then GMT).
        doctor = doctor_working("Europe/London", weekday=6, start="00:00", end="03:00")
        slots_generate(doctor=doctor, days=3, now=utc(2026, 10, 23, 12))

        assert local_wall_times(doctor, dt.date(2026, 10, 25)) == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
        one_am = Slot.objects.get(doctor=doctor, starts_at=utc(2026, 10, 25, 0, 0))
        assert one_am.starts_at.astimezone(doctor.zone).strftime("%H:%M %Z") == "01:00 BST"
        assert not Slot.objects.filter(doctor=doctor, starts_at=utc(2026, 10, 25, 1, 0)).exists()

    def test_new_york_spring_forward(self):
        # Sunday 8 March 2026: 02:00 EST jumps to 03:00 EDT.
        doctor = doctor_working("America/New_York", weekday=6, start="01:00", end="04:00")
        slots_generate(doctor=doctor, days=3, now=utc(2026, 3, 6, 12))

        assert local_wall_times(doctor, dt.date(2026, 3, 8)) == ["01:00", "01:30", "03:00", "03:30"]

    def test_new_york_fall_back_with_hour_long_slots(self):
        # Sunday 1 November 2026: 01:00–02:00 happens twice.
        doctor = doctor_working("America/New_York", weekday=6, start="00:00", end="03:00", slot_minutes=60)
        slots_generate(doctor=doctor, days=3, now=utc(2026, 10, 30, 12))

        assert local_wall_times(doctor, dt.date(2026, 11, 1)) == ["00:00", "01:00", "02:00"]
        starts = list(Slot.objects.filter(doctor=doctor).values_list("starts_at", flat=True))
        assert starts == [utc(2026, 11, 1, 4), utc(2026, 11, 1, 5), utc(2026, 11, 1, 7)]
        ends = list(Slot.objects.filter(doctor=doctor).values_list("ends_at", flat=True))
        assert ends == [utc(2026, 11, 1, 5), utc(2026, 11, 1, 6), utc(2026, 11, 1, 8)]

    def test_other_slots_keep_their_local_wall_clock_time_across_the_change(self):
        doctor = DoctorFactory(timezone="Europe/London")
        for weekday in range(7):
            WorkingHoursFactory(doctor=doctor, weekday=weekday, start_time=dt.time(9), end_time=dt.time(9, 30))
        slots_generate(doctor=doctor, days=6, now=utc(2026, 3, 26, 0))

        local = [s.starts_at.astimezone(doctor.zone) for s in Slot.objects.filter(doctor=doctor)]
        assert {t.strftime("%H:%M") for t in local} == {"09:00"}
        assert [t.strftime("%m-%d %Z") for t in local] == [
            "03-26 GMT", "03-27 GMT", "03-28 GMT", "03-29 BST", "03-30 BST", "03-31 BST",
        ]  # fmt: skip

    def test_wall_time_to_utc_names_the_gap_and_the_overlap(self):
        london = ZoneInfo("Europe/London")
        assert wall_time_to_utc(dt.date(2026, 3, 29), dt.time(1, 30), london) is None
        assert wall_time_to_utc(dt.date(2026, 10, 25), dt.time(1, 30), london) == utc(2026, 10, 25, 0, 30)


class TestScheduleRules:
    NOW = utc(2026, 6, 1, 6)  # a Monday, 07:00 in London

    def test_slots_fill_working_hours_for_the_horizon_only(self):
        doctor = doctor_working("Europe/London", weekday=0, start="09:00", end="12:00")
        result = slots_generate(doctor=doctor, days=14, now=self.NOW)

        assert result.created == 12  # two Mondays, six half-hour slots each
        assert Slot.objects.filter(doctor=doctor).count() == 12
        assert max(Slot.objects.values_list("starts_at", flat=True)) < self.NOW + dt.timedelta(days=14)

    def test_a_window_that_does_not_divide_evenly_drops_the_partial_slot(self):
        doctor = doctor_working("Europe/London", weekday=0, start="09:00", end="10:15", slot_minutes=30)
        slots_generate(doctor=doctor, days=1, now=self.NOW)
        assert local_wall_times(doctor, dt.date(2026, 6, 1)) == ["09:00", "09:30"]

    def test_no_slots_in_the_past(self):
        doctor = doctor_working("Europe/London", weekday=0, start="09:00", end="12:00")
        slots_generate(doctor=doctor, days=1, now=utc(2026, 6, 1, 9, 10))  # 10:10 in London
        assert local_wall_times(doctor, dt.date(2026, 6, 1)) == ["10:30", "11:00", "11:30"]

    def test_time_off_removes_overlapping_slots_and_they_return_when_it_is_deleted(self):
        doctor = doctor_working("Europe/London", weekday=0, start="09:00", end="12:00")
        slots_generate(doctor=doctor, days=1, now=self.NOW)
        # 09:45–10:45 London touches the 09:30, 10:00 and 10:30 slots.
        off = TimeOffFactory(doctor=doctor, starts_at=utc(2026, 6, 1, 8, 45), ends_at=utc(2026, 6, 1, 9, 45))

        result = slots_generate(doctor=doctor, days=1, now=self.NOW)
        assert result.removed == 3
        assert local_wall_times(doctor, dt.date(2026, 6, 1)) == ["09:00", "11:00", "11:30"]

        off.delete()
        slots_generate(doctor=doctor, days=1, now=self.NOW)
        assert local_wall_times(doctor, dt.date(2026, 6, 1)) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]

    def test_running_twice_changes_nothing(self):
        doctor = doctor_working("Asia/Tokyo", weekday=2, start="09:00", end="17:00")
        first = slots_generate(doctor=doctor, days=28, now=self.NOW)
        ids = set(Slot.objects.values_list("pk", flat=True))

        second = slots_generate(doctor=doctor, days=28, now=self.NOW)
        assert first.created == 64
        assert (second.created, second.removed) == (0, 0)
        assert set(Slot.objects.values_list("pk", flat=True)) == ids

    def test_shorter_hours_remove_free_future_slots_but_keep_past_and_other_doctors_slots(self):
        doctor = doctor_working("Europe/London", weekday=0, start="09:00", end="12:00")
        past = SlotFactory(doctor=doctor, starts_at=utc(2026, 5, 25, 8), ends_at=utc(2026, 5, 25, 8, 30))
        other = SlotFactory(starts_at=utc(2026, 6, 1, 10), ends_at=utc(2026, 6, 1, 10, 30))
        slots_generate(doctor=doctor, days=1, now=self.NOW)

        doctor.working_hours.update(end_time=dt.time(10))
        result = slots_generate(doctor=doctor, days=1, now=self.NOW)

        assert result.removed == 4
        assert local_wall_times(doctor, dt.date(2026, 6, 1)) == ["09:00", "09:30"]
        assert Slot.objects.filter(pk__in=[past.pk, other.pk]).count() == 2

    def test_a_new_slot_length_replaces_free_slots(self):
        doctor = doctor_working("Europe/London", weekday=0, start="09:00", end="10:00")
        slots_generate(doctor=doctor, days=1, now=self.NOW)
        doctor.slot_minutes = 20
        doctor.save()

        slots_generate(doctor=doctor, days=1, now=self.NOW)
        assert local_wall_times(doctor, dt.date(2026, 6, 1)) == ["09:00", "09:20", "09:40"]
        assert {s.ends_at - s.starts_at for s in Slot.objects.filter(doctor=doctor)} == {dt.timedelta(minutes=20)}

    def test_an_unlisted_doctor_gets_no_new_slots_and_loses_free_ones(self):
        doctor = doctor_working("Europe/London", weekday=0, start="09:00", end="10:00")
        slots_generate(doctor=doctor, days=1, now=self.NOW)
        doctor.is_active = False
        doctor.save()

        result = slots_generate(doctor=doctor, days=1, now=self.NOW)
        assert result.removed == 2
        assert not Slot.objects.filter(doctor=doctor).exists()

    def test_a_blocked_slot_stays_blocked_on_regeneration(self):
        doctor = doctor_working("Europe/London", weekday=0, start="09:00", end="10:00")
        slots_generate(doctor=doctor, days=1, now=self.NOW)
        Slot.objects.filter(doctor=doctor, starts_at=utc(2026, 6, 1, 8)).update(is_blocked=True)

        slots_generate(doctor=doctor, days=1, now=self.NOW)
        assert Slot.objects.get(doctor=doctor, starts_at=utc(2026, 6, 1, 8)).is_blocked


@time_machine.travel(dt.datetime(2026, 6, 1, 6, tzinfo=UTC), tick=False)
def test_generate_slots_command_reports_what_it_did(capsys):
    doctor_working("Europe/London", weekday=0, start="09:00", end="10:00")
    doctor_working("America/New_York", weekday=1, start="09:00", end="10:00")
    call_command("generate_slots", "--days", "14")
    assert "created" in capsys.readouterr().out
    assert Slot.objects.count() == 8
    call_command("generate_slots", "--days", "14")
    assert "0 created, 0 removed" in capsys.readouterr().out
