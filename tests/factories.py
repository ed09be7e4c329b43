import datetime as dt

import factory
from django.utils import timezone

from accounts.models import PatientProfile, Role, User
from hospital.models import Doctor, Slot, Specialty, TimeOff, WorkingHours

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.PATIENT
    is_staff = factory.LazyAttribute(lambda user: user.role == Role.STAFF)
    password = factory.django.Password(TEST_PASSWORD)


class PatientFactory(UserFactory):
    profile = factory.RelatedFactory(
        "tests.factories.PatientProfileFactory", factory_related_name="user", date_of_birth=dt.date(1990, 5, 17)
    )


class PatientProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientProfile

    user = factory.SubFactory(UserFactory)
    date_of_birth = dt.date(1990, 5, 17)


class StaffFactory(UserFactory):
    role = Role.STAFF
    is_superuser = True


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Specialty {n}")


class DoctorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Doctor

    user = factory.SubFactory(UserFactory, role=Role.DOCTOR)
    specialty = factory.SubFactory(SpecialtyFactory)
    fee_amount = 5000
    fee_currency = "usd"
    slot_minutes = 30
    timezone = "Europe/London"
    site = "Riverside Building, 1 Riverside Way"
    room = "Room 1.04"


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    doctor = factory.SubFactory(DoctorFactory)
    weekday = 0
    start_time = dt.time(9)
    end_time = dt.time(12)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    doctor = factory.SubFactory(DoctorFactory)
    starts_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyAttribute(lambda off: off.starts_at + dt.timedelta(hours=4))


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot

    doctor = factory.SubFactory(DoctorFactory)
    # Two hours ahead at the soonest: online booking closes an hour before the start.
    starts_at = factory.Sequence(lambda n: timezone.now().replace(microsecond=0) + dt.timedelta(hours=n + 2))
    ends_at = factory.LazyAttribute(lambda slot: slot.starts_at + dt.timedelta(minutes=30))


def hold_slot(*, patient, slot, reason: str = "", now=None):
    """Book a slot the way the booking page does (no Stripe call: that happens after commit)."""
    from payments.services import appointment_book

    return appointment_book(patient=patient, slot_id=slot.pk, reason=reason, site_url="http://testserver", now=now)


def visit(*, status="confirmed", paid=True, patient=None, doctor=None, starts_at=None, reason="Check-up"):
    """An appointment already in `status`, with its payment captured in full when `paid`: the state
    the payment flow leaves behind (tested on its own in tests/payments), made directly so tests of
    what comes after do not replay Checkout."""
    from appointments import visit_place
    from appointments.models import Appointment
    from payments.models import Payment, PaymentStatus

    doctor = doctor or DoctorFactory()
    slot = SlotFactory(doctor=doctor, **({"starts_at": starts_at} if starts_at else {}))
    appointment = Appointment.objects.create(
        patient=patient or PatientFactory(),
        doctor=doctor,
        slot=slot,
        status=status,
        hold_expires_at=slot.starts_at if status == "pending_payment" else None,
        fee_amount=doctor.fee_amount,
        fee_currency=doctor.fee_currency,
        reason=reason,
        **visit_place.snapshot(doctor),
    )
    Payment.for_booking(
        appointment,
        captured_amount=doctor.fee_amount if paid else 0,
        paid_at=timezone.now() if paid else None,
        status=PaymentStatus.PAID if paid else PaymentStatus.UNPAID,
    ).save()
    return appointment
