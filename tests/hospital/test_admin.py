import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus
from hospital.models import Doctor, Slot, TimeOff, WorkingHours
from hospital.money import to_major_units
from tests.factories import (
    DoctorFactory,
    PatientFactory,
    SlotFactory,
    SpecialtyFactory,
    TimeOffFactory,
    UserFactory,
    WorkingHoursFactory,
    hold_slot,
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
        "fee_amount": str(to_major_units(doctor.fee_amount, doctor.fee_currency)),
        "fee_currency": doctor.fee_currency,
        "slot_minutes": doctor.slot_minutes,
        "timezone": doctor.timezone,
        "visit_type": doctor.visit_type,
        "site": doctor.site,
        "room": doctor.room,
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
    [(html, mimetype)] = mail.outbox[0].alternatives
    assert mimetype == "text/html" and f'href="{link}"' in html  # the HTML part's button, the same link
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
        ("fee_amount", 0, "The fee must be at least $0.50: Stripe refuses smaller payments in US dollar."),
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


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("90.005", "gbp", "Pound sterling amounts have at most 2 decimal places, e.g. 90.00."),
        ("5000.5", "jpy", "Japanese yen amounts are whole numbers (no minor unit), e.g. 5000."),
        ("ninety", "gbp", "Enter a number."),
        # Below Stripe's minimum charge, every booking of the doctor would be a hold nobody can pay.
        ("30", "jpy", "The fee must be at least ¥50: Stripe refuses smaller payments in Japanese yen."),
        ("0.29", "gbp", "The fee must be at least £0.30: Stripe refuses smaller payments in Pound sterling."),
        ("0.49", "aud", "The fee must be at least A$0.50: Stripe refuses smaller payments in Australian dollar."),
    ],
)
def test_a_fee_the_currency_cannot_take_is_explained(staff_client, typed, currency, message):
    doctor = DoctorFactory()
    data = doctor_form(doctor, []) | {"fee_amount": typed, "fee_currency": currency}

    response = staff_client.post(reverse("admin:hospital_doctor_change", args=[doctor.pk]), data)

    assert response.status_code == 200
    assert message in response.text
    doctor.refresh_from_db()
    assert (doctor.fee_amount, doctor.fee_currency) == (5000, "usd")


class TestFeesInMajorUnits:
    """Staff type and read a fee as money (90.00), never as minor units (9000)."""

    def change_url(self, doctor):
        return reverse("admin:hospital_doctor_change", args=[doctor.pk])

    @pytest.mark.parametrize(("amount", "currency", "shown"), [(9000, "gbp", "90.00"), (5000, "jpy", "5000")])
    def test_the_form_shows_the_fee_in_major_units(self, staff_client, amount, currency, shown):
        doctor = DoctorFactory(fee_amount=amount, fee_currency=currency)

        page = staff_client.get(self.change_url(doctor)).text

        assert f'name="fee_amount" value="{shown}"' in page

    @pytest.mark.parametrize(
        ("typed", "currency", "stored"),
        [("90.00", "gbp", 9000), ("0.3", "gbp", 30), ("5000", "jpy", 5000), ("1234567.89", "eur", 123456789)],
    )
    def test_a_typed_fee_is_stored_exactly_in_minor_units(self, staff_client, typed, currency, stored):
        doctor = DoctorFactory()
        data = doctor_form(doctor, []) | {"fee_amount": typed, "fee_currency": currency}

        response = staff_client.post(self.change_url(doctor), data)

        assert response.status_code == 302
        doctor.refresh_from_db()
        assert (doctor.fee_amount, doctor.fee_currency) == (stored, currency)

    def test_lists_show_the_fee_as_money(self, staff_client):
        DoctorFactory(fee_amount=9000, fee_currency="gbp")
        DoctorFactory(fee_amount=5000, fee_currency="jpy")

        page = staff_client.get(reverse("admin:hospital_doctor_changelist")).text

        assert "£90.00" in page
        assert "¥5,000" in page


class TestFeeAtStripesMinimum:
    """Stripe refuses a charge below its minimum; a fee below it would make every booking unpayable."""

    @pytest.mark.parametrize(("typed", "currency"), [("50", "jpy"), ("0.30", "gbp"), ("0.50", "usd")])
    def test_the_minimum_itself_is_accepted(self, staff_client, typed, currency):
        doctor = DoctorFactory()
        data = doctor_form(doctor, []) | {"fee_amount": typed, "fee_currency": currency}

        assert staff_client.post(reverse("admin:hospital_doctor_change", args=[doctor.pk]), data).status_code == 302

    @pytest.mark.parametrize(("amount", "currency"), [(49, "jpy"), (29, "gbp"), (49, "usd"), (49, "eur"), (49, "aud")])
    def test_the_database_refuses_it_per_currency(self, amount, currency):
        doctor = DoctorFactory()

        with pytest.raises(IntegrityError), transaction.atomic():
            Doctor.objects.filter(pk=doctor.pk).update(fee_amount=amount, fee_currency=currency)

        Doctor.objects.filter(pk=doctor.pk).update(fee_amount=amount + 1, fee_currency=currency)


TOKYO_VISIT = dt.datetime(2026, 6, 8, 0, tzinfo=dt.UTC)  # Mon 8 Jun 2026 09:00 JST


@pytest.fixture
def tokyo_doctor():
    return DoctorFactory(timezone="Asia/Tokyo", fee_amount=8000, fee_currency="jpy")


def book(doctor, starts_at, *, status=AppointmentStatus.CONFIRMED, first_name="Pat", last_name="Patient"):
    slot = SlotFactory(doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30))
    appointment = hold_slot(patient=PatientFactory(first_name=first_name, last_name=last_name), slot=slot)
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    return appointment


class TestTimeOffOverBookedVisits:
    """Time off over a booked visit would hide it from the schedule: it is refused, naming the visits."""

    def change_url(self, doctor):
        return reverse("admin:hospital_doctor_change", args=[doctor.pk])

    def test_time_off_over_a_confirmed_visit_is_refused_listing_it(self, staff_client, tokyo_doctor):
        book(tokyo_doctor, TOKYO_VISIT)
        book(tokyo_doctor, TOKYO_VISIT + dt.timedelta(hours=2), status=AppointmentStatus.PENDING_PAYMENT,
             first_name="Kenji", last_name="Sato")  # fmt: skip

        response = staff_client.post(
            self.change_url(tokyo_doctor),
            doctor_form(tokyo_doctor, [], time_off=[("2026-06-08 08:00", "2026-06-08 12:00")]),
        )

        assert response.status_code == 200
        page = response.text
        assert "This time off covers booked visits; cancel or move them first:" in page
        assert "Mon 8 Jun 2026 09:00 JST (Asia/Tokyo): Pat Patient, Confirmed" in page
        assert "Mon 8 Jun 2026 11:00 JST (Asia/Tokyo): Kenji Sato, Awaiting payment" in page
        assert not TimeOff.objects.exists()

    def test_a_completed_or_missed_visit_holds_its_slot_and_blocks_time_off_too(self, staff_client, tokyo_doctor):
        book(tokyo_doctor, TOKYO_VISIT, status=AppointmentStatus.COMPLETED)
        book(tokyo_doctor, TOKYO_VISIT + dt.timedelta(hours=1), status=AppointmentStatus.NO_SHOW, first_name="Kenji")

        response = staff_client.post(
            self.change_url(tokyo_doctor),
            doctor_form(tokyo_doctor, [], time_off=[("2026-06-08 08:00", "2026-06-08 12:00")]),
        )

        assert response.status_code == 200
        assert "Mon 8 Jun 2026 09:00 JST (Asia/Tokyo): Pat Patient, Completed" in response.text
        assert "Mon 8 Jun 2026 10:00 JST (Asia/Tokyo): Kenji Patient, No-show" in response.text
        assert not TimeOff.objects.exists()

    def test_visits_that_no_longer_hold_their_slot_do_not_block_time_off(self, staff_client, tokyo_doctor):
        book(tokyo_doctor, TOKYO_VISIT, status=AppointmentStatus.CANCELED)
        book(tokyo_doctor, TOKYO_VISIT + dt.timedelta(hours=1), status=AppointmentStatus.EXPIRED)

        response = staff_client.post(
            self.change_url(tokyo_doctor),
            doctor_form(tokyo_doctor, [], time_off=[("2026-06-08 08:00", "2026-06-08 12:00")]),
        )

        assert response.status_code == 302
        assert TimeOff.objects.get().starts_at == dt.datetime(2026, 6, 7, 23, tzinfo=dt.UTC)

    def test_moving_existing_time_off_over_a_visit_is_refused(self, staff_client, tokyo_doctor):
        off = TimeOffFactory(doctor=tokyo_doctor, starts_at=TOKYO_VISIT + dt.timedelta(days=1),
                             ends_at=TOKYO_VISIT + dt.timedelta(days=1, hours=3))  # fmt: skip
        book(tokyo_doctor, TOKYO_VISIT)

        response = staff_client.post(
            reverse("admin:hospital_timeoff_change", args=[off.pk]),
            {"doctor": tokyo_doctor.pk, "starts_at_0": "2026-06-08", "starts_at_1": "09:00",
             "ends_at_0": "2026-06-08", "ends_at_1": "10:00", "reason": "Conference"},
        )  # fmt: skip

        assert response.status_code == 200
        assert "Mon 8 Jun 2026 09:00 JST (Asia/Tokyo): Pat Patient, Confirmed" in response.text
        off.refresh_from_db()
        assert off.starts_at == TOKYO_VISIT + dt.timedelta(days=1)

    def test_the_rule_is_a_service_other_pages_reuse(self, tokyo_doctor):
        from django.core.exceptions import ValidationError

        from hospital.services import time_off_validate

        book(tokyo_doctor, TOKYO_VISIT)

        time_off_validate(doctor=tokyo_doctor, starts_at=TOKYO_VISIT + dt.timedelta(minutes=30),
                          ends_at=TOKYO_VISIT + dt.timedelta(hours=1))  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            time_off_validate(doctor=tokyo_doctor, starts_at=TOKYO_VISIT, ends_at=TOKYO_VISIT + dt.timedelta(hours=1))
        assert refused.value.messages[1:] == ["Mon 8 Jun 2026 09:00 JST (Asia/Tokyo): Pat Patient, Confirmed"]


class TestTimeOffShownInTheDoctorsZone:
    def test_the_list_shows_each_span_in_the_doctors_zone_named(self, staff_client, tokyo_doctor):
        TimeOffFactory(doctor=tokyo_doctor, starts_at=TOKYO_VISIT, ends_at=TOKYO_VISIT + dt.timedelta(hours=3))
        TimeOffFactory(doctor=tokyo_doctor, starts_at=TOKYO_VISIT + dt.timedelta(hours=10),
                       ends_at=TOKYO_VISIT + dt.timedelta(hours=26))  # fmt: skip

        page = staff_client.get(reverse("admin:hospital_timeoff_changelist")).text

        assert "Mon 8 Jun 2026 09:00 – 12:00 JST (Asia/Tokyo)" in page
        assert "Mon 8 Jun 2026 19:00 – Tue 9 Jun 2026 11:00 JST (Asia/Tokyo)" in page
        assert "midnight" not in page

    def test_the_change_page_title_is_in_the_doctors_zone(self, staff_client, tokyo_doctor):
        off = TimeOffFactory(doctor=tokyo_doctor, starts_at=TOKYO_VISIT, ends_at=TOKYO_VISIT + dt.timedelta(hours=3))

        page = staff_client.get(reverse("admin:hospital_timeoff_change", args=[off.pk])).text

        assert f"{tokyo_doctor}: Mon 8 Jun 2026 09:00 – 12:00 JST (Asia/Tokyo)" in page
        assert "UTC" not in page
        assert 'value="09:00:00"' in page  # the field too is read in Tokyo time

    def test_a_span_across_a_clock_change_names_both_abbreviations(self):
        doctor = DoctorFactory(timezone="Europe/London")
        off = TimeOff(doctor=doctor, starts_at=dt.datetime(2026, 10, 24, 22, tzinfo=dt.UTC),
                      ends_at=dt.datetime(2026, 10, 25, 12, tzinfo=dt.UTC))  # fmt: skip

        assert str(off).endswith("Sat 24 Oct 2026 23:00 BST – Sun 25 Oct 2026 12:00 GMT (Europe/London)")

    def test_the_doctor_page_shows_time_off_in_the_doctors_zone_named(self, staff_client, tokyo_doctor):
        TimeOffFactory(doctor=tokyo_doctor, starts_at=TOKYO_VISIT, ends_at=TOKYO_VISIT + dt.timedelta(hours=3))

        page = staff_client.get(reverse("admin:hospital_doctor_change", args=[tokyo_doctor.pk])).text

        assert "Time off (times in Asia/Tokyo)" in page
        assert 'name="time_off-0-starts_at_1" value="09:00:00"' in page
