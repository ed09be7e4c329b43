import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from hospital.models import Doctor, Slot, TimeOff, WorkingHours
from tests.factories import (
    DoctorFactory,
    SlotFactory,
    SpecialtyFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 6, tzinfo=dt.UTC)  # Monday 07:00 in London


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def a_doctor():
    doctor = DoctorFactory(timezone="Europe/London")
    WorkingHoursFactory(doctor=doctor)
    TimeOffFactory(doctor=doctor)
    SlotFactory(doctor=doctor)
    return doctor


MODELS = ["accounts.user", "accounts.patientprofile", "hospital.specialty", "hospital.doctor",
          "hospital.workinghours", "hospital.timeoff", "hospital.slot"]  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_a_working_list_search_and_change_page(staff_client, a_doctor, patient, model):
    app_label, model_name = model.split(".")
    changelist = reverse(f"admin:{app_label}_{model_name}_changelist")

    assert staff_client.get(changelist).status_code == 200
    assert staff_client.get(changelist, {"q": "a"}).status_code == 200
    first = staff_client.get(changelist).context["cl"].result_list[0]
    assert staff_client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[first.pk])).status_code == 200


def test_non_staff_cannot_reach_the_admin(patient_client):
    response = patient_client.get(reverse("admin:index"))
    assert response.status_code == 302


def doctor_form(doctor, hours: list[tuple[int, str, str]], time_off: list[tuple[str, str]] = ()) -> dict:
    data = {
        "user": doctor.user_id,
        "specialty": doctor.specialty_id,
        "bio": "",
        "is_active": "on",
        "fee_amount": doctor.fee_amount,
        "fee_currency": doctor.fee_currency,
        "slot_minutes": doctor.slot_minutes,
        "timezone": doctor.timezone,
        "working_hours-TOTAL_FORMS": len(hours),
        "working_hours-INITIAL_FORMS": 0,
        "time_off-TOTAL_FORMS": len(time_off),
        "time_off-INITIAL_FORMS": 0,
    }
    for index, (weekday, start, end) in enumerate(hours):
        data |= {
            f"working_hours-{index}-weekday": weekday,
            f"working_hours-{index}-start_time": start,
            f"working_hours-{index}-end_time": end,
        }
    for index, (starts, ends) in enumerate(time_off):
        data |= {
            f"time_off-{index}-starts_at_0": starts.split()[0],
            f"time_off-{index}-starts_at_1": starts.split()[1],
            f"time_off-{index}-ends_at_0": ends.split()[0],
            f"time_off-{index}-ends_at_1": ends.split()[1],
        }
    return data


class TestDoctorSchedule:
    def change_url(self, doctor):
        return reverse("admin:hospital_doctor_change", args=[doctor.pk])

    def test_saving_hours_generates_the_doctors_slots_at_once(self, staff_client):
        doctor = DoctorFactory(timezone="Europe/London")

        response = staff_client.post(self.change_url(doctor), doctor_form(doctor, [(0, "09:00", "10:00")]), follow=True)

        assert response.status_code == 200
        assert "slots added" in response.text
        local = [s.starts_at.astimezone(doctor.zone).strftime("%a %H:%M") for s in Slot.objects.filter(doctor=doctor)]
        assert local[:2] == ["Mon 09:00", "Mon 09:30"]
        assert len(local) == 8  # four Mondays in 28 days, two slots each

    def test_time_off_is_read_in_the_doctors_zone(self, staff_client):
        doctor = DoctorFactory(timezone="America/New_York")

        staff_client.post(
            self.change_url(doctor),
            doctor_form(doctor, [(0, "09:00", "10:00")], time_off=[("2026-06-08 09:00", "2026-06-08 09:30")]),
        )

        off = TimeOff.objects.get(doctor=doctor)
        assert off.starts_at == dt.datetime(2026, 6, 8, 13, tzinfo=dt.UTC)  # 09:00 EDT
        local_mondays = [s.starts_at.astimezone(doctor.zone) for s in Slot.objects.filter(doctor=doctor)]
        assert dt.datetime(2026, 6, 8, 9, tzinfo=doctor.zone) not in local_mondays

    def test_overlapping_hours_are_an_error_not_a_crash(self, staff_client):
        doctor = DoctorFactory()

        response = staff_client.post(
            self.change_url(doctor), doctor_form(doctor, [(0, "09:00", "12:00"), (0, "11:00", "13:00")])
        )

        assert response.status_code == 200
        assert "Working hours overlap" in response.text
        assert not WorkingHours.objects.exists()

    def test_end_before_start_is_an_error_not_a_crash(self, staff_client):
        doctor = DoctorFactory()

        response = staff_client.post(self.change_url(doctor), doctor_form(doctor, [(0, "12:00", "09:00")]))

        assert response.status_code == 200
        assert "The end time must be after the start time" in response.text
        assert not WorkingHours.objects.exists()

    def test_time_off_ending_before_it_starts_is_an_error(self, staff_client):
        doctor = DoctorFactory()
        response = staff_client.post(
            self.change_url(doctor),
            doctor_form(doctor, [], time_off=[("2026-06-08 12:00", "2026-06-08 09:00")]),
        )
        assert response.status_code == 200
        assert "The end must be after the start" in response.text
        assert not TimeOff.objects.exists()

    def test_a_doctor_profile_needs_a_doctor_account(self, staff_client):
        patient_user = UserFactory(role="patient")
        specialty = SpecialtyFactory()
        data = doctor_form(DoctorFactory.build(user=patient_user, specialty=specialty), [])
        response = staff_client.post(reverse("admin:hospital_doctor_add"), data)
        assert response.status_code == 200
        assert "Select a valid choice" in response.text or "doctor role" in response.text

    def test_standalone_hours_that_overlap_existing_ones_are_refused(self, staff_client, a_doctor):
        response = staff_client.post(
            reverse("admin:hospital_workinghours_add"),
            {"doctor": a_doctor.pk, "weekday": 0, "start_time": "11:00", "end_time": "13:00"},
        )
        assert response.status_code == 200
        assert "existing window Monday 09:00–12:00" in response.text
        assert WorkingHours.objects.count() == 1


def test_staff_block_and_unblock_slots_with_an_action(staff_client):
    slots = SlotFactory.create_batch(3)
    changelist = reverse("admin:hospital_slot_changelist")

    staff_client.post(changelist, {"action": "block_slots", "_selected_action": [s.pk for s in slots[:2]]})
    assert list(Slot.objects.order_by("starts_at").values_list("is_blocked", flat=True)) == [True, True, False]

    staff_client.post(changelist, {"action": "unblock_slots", "_selected_action": [slots[0].pk]})
    assert list(Slot.objects.order_by("starts_at").values_list("is_blocked", flat=True)) == [False, True, False]


def test_staff_create_a_doctor_who_sets_their_own_password_from_an_email(staff_client, client):
    from django.core import mail

    from accounts.models import User

    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Doctor@example.com",
            "first_name": "Nia",
            "last_name": "Doe",
            "role": "doctor",
            "usable_password": "false",
        },
    )
    assert response.status_code == 302
    doctor_user = User.objects.get(email="new.doctor@example.com")
    assert (doctor_user.role, doctor_user.is_staff, doctor_user.has_usable_password()) == ("doctor", False, False)

    staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "send_password_setup_email", "_selected_action": [doctor_user.pk]},
    )
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if line.startswith("http://testserver/"))
    form_page = client.get(link.removeprefix("http://testserver"), follow=True)
    client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "stethoscope-2026", "new_password2": "stethoscope-2026"}
    )

    assert (
        client.post(
            reverse("accounts:login"), {"username": "new.doctor@example.com", "password": "stethoscope-2026"}
        ).status_code
        == 302
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fee_amount", 0, "A consultation fee must be more than zero."),
        ("slot_minutes", 1, "A slot lasts at least 5 minutes."),
        ("slot_minutes", 600, "A slot lasts at most 240 minutes"),
        ("timezone", "Mars/Olympus_Mons", "Select a valid choice"),
    ],
)
def test_doctor_fields_out_of_range_are_explained(staff_client, field, value, message):
    doctor = DoctorFactory()
    data = doctor_form(doctor, []) | {field: value}

    response = staff_client.post(reverse("admin:hospital_doctor_change", args=[doctor.pk]), data)

    assert response.status_code == 200
    assert message in response.text
    doctor.refresh_from_db()
    assert (doctor.fee_amount, doctor.slot_minutes, doctor.timezone) == (5000, 30, "Europe/London")


def test_staff_add_a_doctor_profile_with_hours_and_slots_follow(staff_client):
    doctor_user = UserFactory(role="doctor", first_name="Nia", last_name="Doe")
    data = doctor_form(DoctorFactory.build(user=doctor_user, specialty=SpecialtyFactory()), [(2, "14:00", "15:00")])

    add_page = staff_client.get(reverse("admin:hospital_doctor_add"))
    response = staff_client.post(reverse("admin:hospital_doctor_add"), data)

    assert "time_off-TOTAL_FORMS" not in add_page.text  # added once the doctor, and so their zone, exists
    assert "working_hours-TOTAL_FORMS" in add_page.text
    assert response.status_code == 302
    doctor = Doctor.objects.get(user=doctor_user)
    assert Slot.objects.filter(doctor=doctor).count() == 8  # four Wednesdays, two slots each
