"""A doctor manages their working hours and time off from the portal, through the schedule
services the admin uses: the same rules, the slots regenerated at once."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from appointments.models import Appointment, AppointmentStatus
from hospital import services
from hospital.models import Slot, TimeOff, WorkingHours
from tests.factories import (
    DoctorFactory,
    PatientFactory,
    StaffFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
    hold_slot,
    visit,
)
from tests.html_checks import assert_labels_name_fields

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, tzinfo=UTC)  # Monday 1 June 2026, 15:00 in Tokyo
SCHEDULE = reverse("portal:schedule")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def tokyo():
    return DoctorFactory(
        timezone="Asia/Tokyo", user=UserFactory(first_name="Hiroshi", last_name="Tanaka", role="doctor")
    )


@pytest.fixture
def doctor_client(client, tokyo):
    client.force_login(tokyo.user)
    return client


def tokyo_local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A June 2026 moment on Tokyo's clock (UTC+9, no clock changes), in UTC."""
    return dt.datetime(2026, 6, day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=9))).astimezone(UTC)


def booked(doctor, at: dt.datetime, *, status=AppointmentStatus.CONFIRMED, patient="Pat Patel"):
    first, last = patient.split()
    return visit(doctor=doctor, starts_at=at, status=status, patient=PatientFactory(first_name=first, last_name=last))


class TestWorkingHours:
    def test_the_page_lists_each_weekday_with_its_windows_on_the_doctors_clock(self, doctor_client, tokyo):
        WorkingHoursFactory(doctor=tokyo, weekday=0, start_time=dt.time(9), end_time=dt.time(12))
        WorkingHoursFactory(doctor=tokyo, weekday=0, start_time=dt.time(14), end_time=dt.time(18, 30))
        WorkingHoursFactory(doctor=DoctorFactory(), weekday=2, start_time=dt.time(7), end_time=dt.time(8))

        page = doctor_client.get(SCHEDULE).text

        assert "On your clock: Asia/Tokyo." in page
        assert "09:00–12:00" in page and "14:00–18:30" in page
        assert "07:00–08:00" not in page  # someone else's
        assert page.count("Not working") == 6
        assert_labels_name_fields(page)

    def test_adding_hours_opens_their_slots_at_once(self, doctor_client, tokyo):
        response = doctor_client.post(
            reverse("portal:hours_add"), {"weekday": "2", "start_time": "09:00", "end_time": "10:00"}, follow=True
        )

        assert "Working hours added: Wednesday 09:00–10:00." in response.text
        hours = WorkingHours.objects.get(doctor=tokyo)
        assert (hours.weekday, hours.start_time, hours.end_time) == (2, dt.time(9), dt.time(10))
        local = [slot.starts_at.astimezone(tokyo.zone) for slot in Slot.objects.filter(doctor=tokyo)]
        assert local[0] == dt.datetime(2026, 6, 3, 9, tzinfo=tokyo.zone)
        assert {(at.weekday(), at.strftime("%H:%M")) for at in local} == {(2, "09:00"), (2, "09:30")}

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            (
                {"weekday": "0", "start_time": "11:00", "end_time": "13:00"},
                "overlap the existing window Monday 09:00–12:00",
            ),
            (
                {"weekday": "0", "start_time": "13:00", "end_time": "12:00"},
                "The end time must be after the start time.",
            ),
            ({"weekday": "9", "start_time": "13:00", "end_time": "14:00"}, "Select a valid choice."),
            ({"weekday": "1", "start_time": "25:00", "end_time": "26:00"}, "Enter a valid time."),
        ],
    )
    def test_bad_hours_are_a_form_error_and_change_nothing(self, doctor_client, tokyo, data, error):
        WorkingHoursFactory(doctor=tokyo, weekday=0, start_time=dt.time(9), end_time=dt.time(12))

        response = doctor_client.post(reverse("portal:hours_add"), data)

        assert response.status_code == 200
        assert escape(error) in response.text
        assert WorkingHours.objects.filter(doctor=tokyo).count() == 1

    def test_removing_hours_removes_their_free_slots_and_keeps_booked_ones(self, doctor_client, tokyo):
        hours = WorkingHoursFactory(doctor=tokyo, weekday=2, start_time=dt.time(9), end_time=dt.time(10))
        services.slots_generate(doctor=tokyo)
        first = Slot.objects.filter(doctor=tokyo).order_by("starts_at").first()
        held = hold_slot(patient=PatientFactory(), slot=first)
        Appointment.objects.filter(pk=held.pk).update(status=AppointmentStatus.CONFIRMED)

        response = doctor_client.post(reverse("portal:hours_remove", args=[hours.pk]), follow=True)

        assert "Working hours removed: Wednesday 09:00–10:00. Booked visits in them stay booked." in response.text
        assert not WorkingHours.objects.exists()
        assert list(Slot.objects.filter(doctor=tokyo).values_list("appointments__status", flat=True)) == ["confirmed"]

    def test_another_doctors_hours_are_not_found_and_get_is_refused(self, doctor_client):
        theirs = WorkingHoursFactory(doctor=DoctorFactory())

        assert doctor_client.post(reverse("portal:hours_remove", args=[theirs.pk])).status_code == 404
        assert doctor_client.get(reverse("portal:hours_remove", args=[theirs.pk])).status_code == 405
        assert WorkingHours.objects.filter(pk=theirs.pk).exists()


class TestTimeOff:
    def add(self, client, first_day, last_day, start_time="", end_time="", reason="Conference"):
        return client.post(
            reverse("portal:time_off_add"),
            {"first_day": first_day, "last_day": last_day, "start_time": start_time, "end_time": end_time,
             "reason": reason},
        )  # fmt: skip

    def test_whole_days_off_in_the_doctors_zone_remove_their_free_slots(self, doctor_client, tokyo):
        WorkingHoursFactory(doctor=tokyo, weekday=2, start_time=dt.time(9), end_time=dt.time(10))
        services.slots_generate(doctor=tokyo)

        response = self.add(doctor_client, "2026-06-03", "2026-06-04")

        assert response.status_code == 302
        off = TimeOff.objects.get(doctor=tokyo)
        assert (off.starts_at, off.ends_at) == (tokyo_local(3, 0), tokyo_local(5, 0))
        assert off.reason == "Conference"
        assert not Slot.objects.filter(doctor=tokyo, starts_at__lt=tokyo_local(5, 0)).exists()
        assert Slot.objects.filter(doctor=tokyo, starts_at=tokyo_local(10, 9)).exists()  # next Wednesday
        page = doctor_client.get(SCHEDULE).text
        assert "Wed 3 Jun – Thu 4 Jun 2026, whole days (Asia/Tokyo)" in page
        assert "Conference" in page

    def test_times_within_a_day(self, doctor_client, tokyo):
        self.add(doctor_client, "2026-06-03", "2026-06-03", start_time="13:00", end_time="15:30")

        off = TimeOff.objects.get()
        assert (off.starts_at, off.ends_at) == (tokyo_local(3, 13), tokyo_local(3, 15, 30))
        assert "Wed 3 Jun 2026 13:00 – 15:30 JST (Asia/Tokyo)" in doctor_client.get(SCHEDULE).text

    def test_time_off_over_booked_visits_is_refused_naming_each_on_the_doctors_clock(self, doctor_client, tokyo):
        booked(tokyo, tokyo_local(3, 9), patient="Pat Patel")
        booked(tokyo, tokyo_local(3, 11), status=AppointmentStatus.IN_PROGRESS, patient="Kenji Sato")
        booked(tokyo, tokyo_local(3, 14), status=AppointmentStatus.CANCELED, patient="Free Again")

        response = self.add(doctor_client, "2026-06-03", "2026-06-03")

        assert response.status_code == 200
        page = response.text
        assert "This time off covers booked visits; cancel or move them first:" in page
        assert "Wed 3 Jun 2026 09:00 JST (Asia/Tokyo): Pat Patel, Confirmed" in page
        assert "Wed 3 Jun 2026 11:00 JST (Asia/Tokyo): Kenji Sato, In progress" in page
        assert "Free Again" not in page
        assert not TimeOff.objects.exists()

    def test_any_visit_holding_its_slot_blocks_time_off_even_one_done(self, tokyo):
        """The shared rule (admin and portal): a live hold, a completed or a missed visit holds its
        slot as a confirmed one does."""
        booked(tokyo, tokyo_local(1, 9), status=AppointmentStatus.COMPLETED, patient="Ann Done")
        booked(tokyo, tokyo_local(1, 10), status=AppointmentStatus.NO_SHOW, patient="Bob Missed")
        booked(tokyo, tokyo_local(2, 10), status=AppointmentStatus.PENDING_PAYMENT, patient="Cal Paying")

        with pytest.raises(ValidationError) as refused:
            services.time_off_add(doctor=tokyo, starts_at=tokyo_local(1, 0), ends_at=tokyo_local(3, 0))

        assert refused.value.messages[1:] == [
            "Mon 1 Jun 2026 09:00 JST (Asia/Tokyo): Ann Done, Completed",
            "Mon 1 Jun 2026 10:00 JST (Asia/Tokyo): Bob Missed, No-show",
            "Tue 2 Jun 2026 10:00 JST (Asia/Tokyo): Cal Paying, Awaiting payment",
        ]
        assert not TimeOff.objects.exists()

    @pytest.mark.parametrize(
        ("first", "last", "start", "end", "error"),
        [
            ("2026-06-04", "2026-06-03", "", "", "The time off must end after it starts."),
            ("2026-06-03", "2026-06-03", "15:00", "09:00", "The time off must end after it starts."),
            ("2026-05-20", "2026-05-21", "", "", "This time off is over already."),
            ("", "2026-06-03", "", "", "This field is required."),
            ("2026-06-31", "2026-07-01", "", "", "Enter a valid date."),
            ("2026-06-03", "2026-06-03", "9 o'clock", "", "Enter a valid time."),
        ],
    )
    def test_bad_input_is_a_form_error_and_nothing_is_written(self, doctor_client, first, last, start, end, error):
        response = self.add(doctor_client, first, last, start_time=start, end_time=end)

        assert response.status_code == 200
        assert escape(error) in response.text
        assert not TimeOff.objects.exists()

    def test_a_time_the_clocks_skip_is_explained(self, client):
        london = DoctorFactory(timezone="Europe/London")
        with time_machine.travel(dt.datetime(2027, 3, 1, tzinfo=UTC), tick=False):
            client.force_login(london.user)
            response = self.add(client, "2027-03-28", "2027-03-28", start_time="01:30", end_time="05:00")

        assert "The clocks go forward at that time on 28 March: it does not exist then." in response.text
        assert not TimeOff.objects.exists()

    def test_removing_time_off_brings_its_slots_back(self, doctor_client, tokyo):
        WorkingHoursFactory(doctor=tokyo, weekday=2, start_time=dt.time(9), end_time=dt.time(10))
        off = TimeOffFactory(doctor=tokyo, starts_at=tokyo_local(3, 0), ends_at=tokyo_local(4, 0))
        services.slots_generate(doctor=tokyo)
        assert not Slot.objects.filter(doctor=tokyo, starts_at=tokyo_local(3, 9)).exists()

        response = doctor_client.post(reverse("portal:time_off_remove", args=[off.pk]), follow=True)

        assert "Time off removed: Wed 3 Jun 2026 00:00 – Thu 4 Jun 2026 00:00 JST (Asia/Tokyo)." in response.text
        assert Slot.objects.filter(doctor=tokyo, starts_at=tokyo_local(3, 9)).exists()

    def test_only_time_off_not_yet_over_is_listed(self, doctor_client, tokyo):
        TimeOffFactory(doctor=tokyo, starts_at=tokyo_local(1, 0), ends_at=tokyo_local(1, 12), reason="Dentist")
        TimeOffFactory(doctor=tokyo, starts_at=tokyo_local(1, 12), ends_at=tokyo_local(2, 0), reason="Afternoon")

        page = doctor_client.get(SCHEDULE).text

        assert "Dentist" not in page
        assert "Afternoon" in page and "Now</span>" in page

    def test_another_doctors_time_off_is_not_found(self, doctor_client):
        theirs = TimeOffFactory(doctor=DoctorFactory())

        assert doctor_client.post(reverse("portal:time_off_remove", args=[theirs.pk])).status_code == 404
        assert TimeOff.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("name", ["portal:hours_add", "portal:time_off_add"])
def test_patients_and_staff_cannot_change_a_schedule(client, name):
    for user in (PatientFactory(), StaffFactory()):
        client.force_login(user)
        assert client.post(reverse(name), {}).status_code == 403
    assert not WorkingHours.objects.exists() and not TimeOff.objects.exists()
