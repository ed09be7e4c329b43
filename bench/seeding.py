"""The bench's data, made with bulk_create: doctors with four weeks of slots, the patients whose pages
and POSTs are measured, each signed in by a database session (what `login()` stores)."""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from dataclasses import dataclass

SPECIALTIES = [
    "Cardiology", "Dermatology", "Endocrinology", "Gastroenterology", "Neurology",
    "Oncology", "Ophthalmology", "Paediatrics", "Psychiatry", "Rheumatology",
]  # fmt: skip
SURNAMES = [
    "Okafor", "Lindqvist", "Moreau", "Tanaka", "Haddad", "Kowalski", "Nguyen", "Fischer", "Silva", "Mensah",
    "Ivanova", "Rossi", "Kaur", "Jensen", "Alvarez", "Novak", "Sato", "Byrne", "Dubois", "Popescu",
    "Yilmaz", "Larsen", "Costa", "Horvat", "Abebe", "Mueller", "Park", "Quinn", "Varga", "Walsh",
    "Adeyemi", "Berg", "Castillo", "Demir", "Eriksen", "Ferreira", "Gallo", "Hoang", "Ito", "Jovanovic",
]  # fmt: skip
FIRST_NAMES = ["Amara", "Jonas", "Claire", "Kenji", "Leila", "Piotr", "Linh", "Greta", "Rui", "Kofi"]
ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo"]
# Working hours 09:00-13:00 in the doctor's zone, 30-minute slots, for 28 days from tomorrow:
# 8 a day, 224 a doctor (224,000 at 1,000 doctors), ~112 of them in the doctor page's 14 days.
SLOTS_PER_DAY, DAYS, FIRST_HOUR = 8, 28, 9
BATCH = 5000


@dataclass
class People:
    page_patient_id: int
    page_session: str
    customer_sessions: list[str]  # patients who already have a Stripe Customer
    first_sessions: list[str]  # patients booking for the first time
    contention_sessions: list[str]
    customer_users: list[int]
    first_users: list[int]
    # The page patient's first visit: paid with a receipt, part refunded with its credit note.
    money_visit_id: int
    receipt_id: int


def local_slot_starts(zone_name: str, today_utc: dt.date):
    zone = zoneinfo.ZoneInfo(zone_name)
    for day in range(1, DAYS + 1):
        date = today_utc + dt.timedelta(days=day)
        for k in range(SLOTS_PER_DAY):
            local = dt.datetime(date.year, date.month, date.day, FIRST_HOUR, tzinfo=zone) + dt.timedelta(minutes=30 * k)
            yield local.astimezone(dt.UTC)


def specialties_create() -> None:
    from hospital.models import Specialty

    Specialty.objects.bulk_create(Specialty(name=name, slug=name.lower()) for name in SPECIALTIES)


def doctors_grow(total: int) -> None:
    """Doctors numbered from the current count up to `total`, each with their slots."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from accounts.models import Role, User
    from hospital.models import Doctor, Slot, Specialty

    specialties = list(Specialty.objects.order_by("pk"))
    start = Doctor.objects.count()
    today = dt.datetime.now(dt.UTC).date()
    password = make_password(None)
    with transaction.atomic():
        users = User.objects.bulk_create(
            (
                User(
                    email=f"doctor{i}@bench.test",
                    first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
                    last_name=SURNAMES[i % len(SURNAMES)],
                    role=Role.DOCTOR,
                    password=password,
                )
                for i in range(start, total)
            ),
            batch_size=BATCH,
        )
        doctors = Doctor.objects.bulk_create(
            (
                Doctor(
                    user=user,
                    specialty=specialties[i % len(specialties)],
                    fee_amount=5000,
                    fee_currency="usd",
                    timezone=ZONES[i % len(ZONES)],
                    site="Riverside Building, 1 Riverside Way",
                )
                for i, user in enumerate(users, start=start)
            ),
            batch_size=BATCH,
        )
        Slot.objects.bulk_create(
            (
                Slot(doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30))
                for doctor in doctors
                for starts_at in local_slot_starts(doctor.timezone, today)
            ),
            batch_size=BATCH,
        )


def sessions_create(users) -> list[str]:
    """A signed-in database session per user, as `login()` would store it, in one bulk insert;
    staff and doctors also as the code page leaves theirs: with their authenticator app's device
    (confirmed) and the idle log-off's clock started."""
    import time

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.idle_logoff import LAST_SEEN
    from accounts.two_factor import two_factor_required

    store = SessionStore()
    expire = timezone.now() + dt.timedelta(days=1)
    with_second_factor = [user for user in users if two_factor_required(user)]
    devices = TOTPDevice.objects.bulk_create(
        TOTPDevice(user=user, name="Bench authenticator", confirmed=True) for user in with_second_factor
    )
    device_of = {device.user_id: device for device in devices}

    def data(user) -> dict:
        signed_in = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        if user.pk in device_of:
            signed_in |= {
                DEVICE_ID_SESSION_KEY: device_of[user.pk].persistent_id,
                LAST_SEEN: time.time(),
                "_session_expiry": 0,
            }
        return signed_in

    sessions = [
        Session(session_key=secrets.token_hex(16), session_data=store.encode(data(user)), expire_date=expire)
        for user in users
    ]
    Session.objects.bulk_create(sessions, batch_size=BATCH)
    return [s.session_key for s in sessions]


def billing_staff_create() -> tuple[int, str]:
    """A member of the Billing group (the money dashboard's reader), signed in: (user id, session)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from accounts.models import Role, StaffGroup, User

    user = User.objects.create(
        email="billing@bench.test", first_name="Bill", last_name="Bench", role=Role.STAFF, is_staff=True,
        password=make_password(None),
    )  # fmt: skip
    user.groups.add(Group.objects.get(name=StaffGroup.BILLING))
    return user.pk, sessions_create([user])[0]


def patients_create(*, customers: int, first: int, contenders: int, appointments: int) -> People:
    """The page patient (with `appointments` confirmed and paid visits, on doctors other than the
    doctor page's), patients with a Stripe Customer row to be filled in, first-time patients and
    contenders."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import PatientProfile, Role, User
    from appointments.models import Appointment, AppointmentStatus
    from hospital.models import Slot
    from payments.models import CancellationPolicy, Payment, PaymentStatus, Refund, RefundReason, RefundStatus
    from payments.services import payment_status_refresh
    from payments.services.receipts import payment_documents_issue

    password = make_password(None)
    count = 1 + customers + first + contenders
    with transaction.atomic():
        users = User.objects.bulk_create(
            (
                User(
                    email=f"patient{i}@bench.test",
                    first_name="Pat",
                    last_name=f"Bench{i}",
                    role=Role.PATIENT,
                    password=password,
                )
                for i in range(count)
            ),
            batch_size=BATCH,
        )
        PatientProfile.objects.bulk_create(
            (PatientProfile(user=user, date_of_birth=dt.date(1990, 5, 17)) for user in users), batch_size=BATCH
        )
        sessions = sessions_create(users)
        page_patient = users[0]
        slots = list(
            Slot.objects.select_related("doctor")
            .exclude(doctor=page_doctor())
            .filter(starts_at__gte=timezone.now() + dt.timedelta(days=15))
            .order_by("starts_at", "pk")[:appointments]
        )
        visits = Appointment.objects.bulk_create(
            Appointment(
                patient=page_patient,
                doctor=slot.doctor,
                slot=slot,
                status=AppointmentStatus.CONFIRMED,
                fee_amount=slot.doctor.fee_amount,
                fee_currency=slot.doctor.fee_currency,
                reason="Check-up",
            )
            for slot in slots
        )
        policy = CancellationPolicy.in_force()
        payments = Payment.objects.bulk_create(
            Payment.for_booking(
                visit,
                policy=policy,
                captured_amount=visit.fee_amount,
                status=PaymentStatus.PAID,
                paid_at=timezone.now(),
                payment_intent_id=f"pi_bench_{visit.pk}",
            )
            for visit in visits
        )
        money = payments[0]
        Refund.objects.create(
            payment=money, payment_intent_id=money.payment_intent_id, amount=money.amount // 4,
            currency=money.currency, reason=RefundReason.STRIPE, status=RefundStatus.SUCCEEDED,
            stripe_refund_id="re_bench_1",
        )  # fmt: skip
        payment_status_refresh(money)
        payment_documents_issue(payment=money, now=timezone.now())
    a, b = 1 + customers, 1 + customers + first
    return People(
        page_patient_id=page_patient.pk,
        page_session=sessions[0],
        customer_sessions=sessions[1:a],
        first_sessions=sessions[a:b],
        contention_sessions=sessions[b:],
        customer_users=[u.pk for u in users[1:a]],
        first_users=[u.pk for u in users[a:b]],
        money_visit_id=money.appointment_id,
        receipt_id=money.receipt.pk,
    )


def stripe_customers_create(user_ids: list[int]) -> None:
    """A Customer at the stand-in for each patient, and our row pointing at it, as a first booking
    leaves them (payments.services.checkout.stripe_customer_for)."""
    from django.conf import settings
    from django.utils import timezone

    from accounts.models import User
    from payments import stripe_api
    from payments.models import StripeCustomer
    from payments.stripe_objects import METADATA_USER

    rows = []
    for user in User.objects.filter(pk__in=user_ids):
        params = {"email": user.email, "name": user.get_full_name(), "metadata": {METADATA_USER: str(user.pk)}}
        key = f"customer-{secrets.token_urlsafe(24)}"
        customer = stripe_api.customer_create(**params, idempotency_key=key)
        rows.append(
            StripeCustomer(
                user=user,
                livemode=settings.STRIPE_LIVE_MODE,
                stripe_customer_id=customer["id"],
                idempotency_key=key,
                create_params=params,
                key_created_at=timezone.now(),
            )
        )
    StripeCustomer.objects.bulk_create(rows, batch_size=BATCH)


def bare_customers_create(count: int) -> list[str]:
    """Customers at the stand-in only, for the bare one-call Checkout view."""
    from payments import stripe_api

    return [
        stripe_api.customer_create(
            email=f"bare{i}@bench.test",
            name="Bare Bench",
            metadata={},
            idempotency_key=f"customer-{secrets.token_urlsafe(24)}",
        )["id"]
        for i in range(count)
    ]


def page_doctor():
    """Doctor 0: the doctor page's doctor, whose slots stay free."""
    from hospital.models import Doctor

    return Doctor.objects.select_related("user", "specialty").order_by("pk").first()


def free_slots(count: int) -> list[int]:
    """Free slots past the doctor page's 14 days, never the page doctor's, for the POST rows."""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from appointments.models import Appointment
    from hospital.models import Slot

    slots = (
        Slot.objects.exclude(doctor=page_doctor())
        .exclude(Exists(Appointment.objects.filter(slot=OuterRef("pk"))))
        .filter(starts_at__gte=timezone.now() + dt.timedelta(days=15))
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)[:count]
    )
    found = list(slots)
    if len(found) < count:
        raise RuntimeError(f"only {len(found)} free slots for {count} POSTs: use fewer --requests")
    return found


@dataclass
class PortalDoctor:
    user_id: int
    session: str
    zone: str
    # A visit of theirs from last week, completed through the services with a signed note, two
    # addenda and a prescription, and that visit's patient signed in.
    visit_id: int
    prescription_id: int
    patient_id: int
    patient_session: str


def portal_doctor_create(*, visits: int) -> PortalDoctor:
    """Doctor 1 (doctor 0's slots stay free for the doctor page), signed in, with `visits` confirmed,
    paid visits today on their own clock every 30 minutes from 07:00 (the day and the week), and as
    many on their free slots from day 15 (the upcoming list, whatever the hour of the run), each
    with one of five patients of its own."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from accounts.models import PatientProfile, Role, User
    from appointments.models import Appointment, AppointmentStatus
    from hospital.models import Doctor, Slot
    from payments.models import CancellationPolicy, Payment, PaymentStatus

    doctor = Doctor.objects.select_related("user").order_by("pk")[1]
    zone = zoneinfo.ZoneInfo(doctor.timezone)
    today = timezone.now().astimezone(zone).date()
    password = make_password(None)
    with transaction.atomic():
        patients = User.objects.bulk_create(
            User(email=f"portal{i}@bench.test", first_name="Pia", last_name=f"Portal{i}", role=Role.PATIENT,
                 password=password)
            for i in range(5)
        )  # fmt: skip
        PatientProfile.objects.bulk_create(PatientProfile(user=p, date_of_birth=dt.date(1980, 1, 1)) for p in patients)
        starts = [
            dt.datetime(today.year, today.month, today.day, 7, tzinfo=zone).astimezone(dt.UTC)
            + dt.timedelta(minutes=30 * k)
            for k in range(visits)
        ]
        length = dt.timedelta(minutes=30)
        slots = Slot.objects.bulk_create(Slot(doctor=doctor, starts_at=at, ends_at=at + length) for at in starts)
        slots += list(
            Slot.objects.filter(doctor=doctor, starts_at__gte=timezone.now() + dt.timedelta(days=15))
            .exclude(Exists(Appointment.objects.filter(slot=OuterRef("pk"))))
            .order_by("starts_at")[:visits]
        )
        booked = Appointment.objects.bulk_create(
            Appointment(
                patient=patients[k % len(patients)],
                doctor=doctor,
                slot=slot,
                status=AppointmentStatus.CONFIRMED,
                fee_amount=doctor.fee_amount,
                fee_currency=doctor.fee_currency,
                reason="Follow-up on last month's results",
            )
            for k, slot in enumerate(slots)
        )
        policy = CancellationPolicy.in_force()
        Payment.objects.bulk_create(
            Payment.for_booking(visit, policy=policy, captured_amount=visit.fee_amount, status=PaymentStatus.PAID,
                                paid_at=timezone.now())
            for visit in booked
        )  # fmt: skip
    visit_id, prescription_id = _completed_visit_with_records(doctor, patients[0])
    doctor_session, patient_session = sessions_create([doctor.user, patients[0]])
    return PortalDoctor(
        user_id=doctor.user_id,
        session=doctor_session,
        zone=doctor.timezone,
        visit_id=visit_id,
        prescription_id=prescription_id,
        patient_id=patients[0].pk,
        patient_session=patient_session,
    )


def _completed_visit_with_records(doctor, patient) -> tuple[int, int]:
    """A visit 8 days ago, paid, then started, noted, completed, corrected twice and prescribed for
    by the doctor's own services (the visit page and the prescription pages read what they wrote)."""
    from django.utils import timezone

    from appointments.models import Appointment, AppointmentStatus
    from appointments.services import appointment_complete, appointment_start, visit_note_add_addendum
    from hospital.models import Slot
    from payments.models import Payment, PaymentStatus
    from prescriptions.demo import DEMO_ITEMS
    from prescriptions.services import prescription_issue

    starts_at = timezone.now().replace(microsecond=0) - dt.timedelta(days=8)  # last week: not on the week page
    slot = Slot.objects.create(doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30))
    visit = Appointment.objects.create(
        patient=patient, doctor=doctor, slot=slot, status=AppointmentStatus.CONFIRMED, fee_amount=doctor.fee_amount,
        fee_currency=doctor.fee_currency, reason="Follow-up on last month's results",
    )  # fmt: skip
    Payment.for_booking(visit, captured_amount=visit.fee_amount, status=PaymentStatus.PAID, paid_at=starts_at).save()
    appointment_start(appointment_id=visit.pk, doctor=doctor.user, now=starts_at)
    appointment_complete(
        appointment_id=visit.pk, doctor=doctor.user, note_text="Seen and examined. " * 20, now=slot.ends_at
    )
    for n in range(2):
        visit_note_add_addendum(appointment_id=visit.pk, doctor=doctor.user, text=f"Addendum {n + 1}: results in.")
    prescription = prescription_issue(
        doctor_user=doctor.user, appointment_id=visit.pk, items=DEMO_ITEMS, general_advice="Rest.",
        follow_up_on=None, ip=None, now=slot.ends_at,
    )  # fmt: skip
    return visit.pk, prescription.pk
