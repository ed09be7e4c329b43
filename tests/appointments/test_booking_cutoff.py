"""Online booking closes a set time before a slot starts (issue 8, fault 2.5)."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from hospital.models import Slot
from tests.factories import DoctorFactory, SlotFactory

pytestmark = pytest.mark.django_db


def slot_in(minutes: int, doctor=None) -> Slot:
    starts = timezone.now().replace(microsecond=0) + dt.timedelta(minutes=minutes)
    return SlotFactory(doctor=doctor or DoctorFactory(), starts_at=starts, ends_at=starts + dt.timedelta(minutes=30))


def test_a_slot_inside_the_cut_off_is_not_offered_and_the_doctor_page_says_when_booking_closes(client):
    doctor = DoctorFactory()
    too_soon, later = slot_in(59, doctor), slot_in(61, doctor)

    assert list(Slot.objects.bookable().filter(doctor=doctor)) == [later]
    page = client.get(reverse("hospital:doctor_detail", args=[doctor.pk])).content.decode()
    assert "Online booking closes 1 hour before each time." in page
    assert reverse("appointments:book", args=[too_soon.pk]) not in page
    assert reverse("appointments:book", args=[later.pk]) in page


@override_settings(BOOKING_CLOSES_MINUTES_BEFORE_START=90)
def test_the_doctor_page_names_another_cut_off_in_minutes(client):
    doctor = DoctorFactory()
    page = client.get(reverse("hospital:doctor_detail", args=[doctor.pk])).content.decode()
    assert "Online booking closes 90 minutes before each time." in page


def test_booking_a_slot_inside_the_cut_off_is_refused_with_a_message(patient_client, patient):
    slot = slot_in(45)

    response = patient_client.post(reverse("appointments:book", args=[slot.pk]), {"reason": ""})

    assert response.status_code == 409
    assert "Online booking for this time has closed: it closes 1 hour before the start." in response.content.decode()
    assert not Appointment.objects.filter(slot=slot).exists()


@pytest.mark.parametrize("closes", [0, 39])
def test_the_site_refuses_to_start_with_a_cut_off_shorter_than_a_hold(closes):
    # 35 minutes of Checkout plus 5 of grace: a hold made just before the cut-off would outlive the start.
    with override_settings(BOOKING_CLOSES_MINUTES_BEFORE_START=closes), pytest.raises(SystemCheckError) as error:
        call_command("check")
    assert "payments.E003" in str(error.value)
    assert "BOOKING_CLOSES_MINUTES_BEFORE_START" in str(error.value)


def test_a_cut_off_as_long_as_a_hold_passes_the_check():
    with override_settings(BOOKING_CLOSES_MINUTES_BEFORE_START=40):
        call_command("check")


@override_settings(BOOKING_CLOSES_MINUTES_BEFORE_START=10)  # below a hold: only the check forbids it
def test_a_hold_never_outlives_the_slots_start_whatever_the_settings(patient):
    from tests.factories import hold_slot

    slot = slot_in(20)

    appointment = hold_slot(patient=patient, slot=slot)

    assert appointment.hold_expires_at == slot.starts_at
