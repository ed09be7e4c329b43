import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from appointments.services import BookingError
from hospital.models import Slot
from hospital.services import slots_generate
from payments.models import CheckoutAttempt, Payment, PaymentStatus
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, WorkingHoursFactory, hold_slot

pytestmark = pytest.mark.django_db


def test_booking_holds_the_slot_with_a_fee_snapshot_payment_and_checkout_attempt(patient, settings):
    slot = SlotFactory(doctor__fee_amount=7500, doctor__fee_currency="eur")
    now = timezone.now()

    appointment = hold_slot(patient=patient, slot=slot, reason="  Knee pain  ", now=now)

    assert appointment.status == AppointmentStatus.PENDING_PAYMENT
    assert (appointment.fee_amount, appointment.fee_currency, appointment.reason) == (7500, "eur", "Knee pain")
    payment = Payment.objects.get(appointment=appointment)
    assert (payment.amount, payment.currency, payment.status) == (7500, "eur", PaymentStatus.UNPAID)
    attempt = CheckoutAttempt.objects.get(payment=payment)
    checkout_minutes = dt.timedelta(minutes=settings.CHECKOUT_SESSION_MINUTES)
    assert attempt.expires_at == now + checkout_minutes
    assert appointment.hold_expires_at == now + checkout_minutes + dt.timedelta(minutes=settings.HOLD_GRACE_MINUTES)
    assert attempt.params["expires_at"] == int((now + checkout_minutes).timestamp())
    assert attempt.params["payment_method_types"] == ["card"]
    assert attempt.params["line_items"][0]["price_data"]["unit_amount"] == 7500
    assert attempt.params["metadata"] == {
        "hospital_appointment_id": str(appointment.pk),
        "hospital_payment_id": str(payment.pk),
    }
    assert "customer_email" not in attempt.params
    assert not Slot.objects.bookable().filter(pk=slot.pk).exists()


def test_a_later_fee_change_does_not_touch_a_booked_appointment(patient):
    slot = SlotFactory(doctor__fee_amount=5000)
    appointment = hold_slot(patient=patient, slot=slot)
    slot.doctor.fee_amount = 9900
    slot.doctor.save()
    appointment.refresh_from_db()
    assert appointment.fee_amount == 5000
    assert appointment.payment.amount == 5000


@pytest.mark.parametrize(
    ("slot_kwargs", "message"),
    [
        ({"starts_at": timezone.now() - dt.timedelta(minutes=5)}, "already passed"),
        ({"is_blocked": True}, "not available"),
        ({"doctor__is_active": False}, "not available"),
    ],
)
def test_unbookable_slots_are_refused_with_a_message_and_nothing_written(patient, slot_kwargs, message):
    slot = SlotFactory(**slot_kwargs)
    with pytest.raises(BookingError, match=message):
        hold_slot(patient=patient, slot=slot)
    assert Appointment.objects.count() == 0
    assert Payment.objects.count() == 0


def test_a_taken_slot_is_refused(patient):
    slot = SlotFactory()
    hold_slot(patient=PatientFactory(), slot=slot)
    with pytest.raises(BookingError, match="someone has just booked"):
        hold_slot(patient=patient, slot=slot)
    assert Appointment.objects.filter(slot=slot).count() == 1


def test_booking_ones_own_held_slot_again_points_back_to_that_hold(patient):
    slot = SlotFactory()
    first = hold_slot(patient=patient, slot=slot)
    with pytest.raises(BookingError) as refused:
        hold_slot(patient=patient, slot=slot)
    assert refused.value.appointment == first


def test_only_patients_can_book(doctor):
    with pytest.raises(BookingError, match="Only patients"):
        hold_slot(patient=doctor.user, slot=SlotFactory())


def test_a_patient_may_hold_at_most_three_unpaid_slots(patient, settings):
    assert settings.MAX_UNPAID_HOLDS == 3
    doctor = DoctorFactory()
    for _ in range(3):
        hold_slot(patient=patient, slot=SlotFactory(doctor=doctor))
    with pytest.raises(BookingError, match="already have 3 bookings waiting for payment"):
        hold_slot(patient=patient, slot=SlotFactory(doctor=doctor))
    assert Appointment.objects.filter(patient=patient).count() == 3


def test_lapsed_holds_do_not_count_towards_the_limit(patient):
    doctor = DoctorFactory()
    booked_at = timezone.now()
    for _ in range(3):
        hold_slot(patient=patient, slot=SlotFactory(doctor=doctor), now=booked_at)
    later = booked_at + dt.timedelta(hours=1)
    hold_slot(patient=patient, slot=SlotFactory(doctor=doctor, starts_at=later + dt.timedelta(days=1)), now=later)


def test_a_stale_hold_frees_its_slot_without_any_job_having_run(patient):
    slot = SlotFactory(starts_at=timezone.now() + dt.timedelta(days=2))
    first = hold_slot(patient=PatientFactory(), slot=slot)

    with time_machine.travel(first.hold_expires_at + dt.timedelta(seconds=1)):
        assert Slot.objects.bookable().filter(pk=slot.pk).exists()
        second = hold_slot(patient=patient, slot=slot)

    first.refresh_from_db()
    assert first.status == AppointmentStatus.EXPIRED
    assert second.status == AppointmentStatus.PENDING_PAYMENT
    assert [entry.message for entry in first.log_entries.all()][-1] == "The hold lapsed before payment."


def test_the_database_refuses_two_active_appointments_on_one_slot(patient):
    slot = SlotFactory()
    first = hold_slot(patient=PatientFactory(), slot=slot)
    duplicate = Appointment(
        patient=patient,
        doctor=slot.doctor,
        slot=slot,
        status=AppointmentStatus.CONFIRMED,
        fee_amount=1,
        fee_currency="usd",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    # Inactive statuses do not count: an expired appointment can sit beside a new one.
    Appointment.objects.filter(pk=first.pk).update(status=AppointmentStatus.EXPIRED)
    duplicate.save()


def test_regeneration_never_deletes_or_moves_a_slot_with_an_appointment(patient):
    doctor = DoctorFactory(timezone="Europe/London")
    hours = WorkingHoursFactory(doctor=doctor, weekday=0, start_time=dt.time(9), end_time=dt.time(12))
    now = dt.datetime(2026, 6, 1, 6, tzinfo=dt.UTC)  # a Monday morning, before opening
    slots_generate(doctor=doctor, days=7, now=now)
    slot = doctor.slots.order_by("starts_at")[1]
    appointment = hold_slot(patient=patient, slot=slot, now=now)
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.EXPIRED)  # history counts too

    hours.start_time, hours.end_time = dt.time(14), dt.time(16)
    hours.save()
    slots_generate(doctor=doctor, days=7, now=now)

    kept = Slot.objects.get(pk=slot.pk)
    assert (kept.starts_at, kept.ends_at) == (slot.starts_at, slot.ends_at)
    assert Appointment.objects.get(pk=appointment.pk).slot_id == slot.pk


def test_booking_posts_are_rate_limited_per_patient(patient_client, settings):
    settings.BOOKING_RATE_LIMIT_PER_HOUR = 2
    slot = SlotFactory(is_blocked=True)  # refused by the service, so no Stripe call is made
    statuses = [patient_client.post(f"/appointments/book/{slot.pk}/", {"reason": ""}).status_code for _ in range(3)]
    assert statuses == [409, 409, 429]
    page = patient_client.post(f"/appointments/book/{slot.pk}/", {"reason": ""}).content.decode()
    assert "many bookings in a short time" in page
