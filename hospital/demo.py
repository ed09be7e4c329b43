"""Demo data: specialties, doctors in several time zones, patients and a staff superuser.

Idempotent: running it again updates the same rows instead of adding more.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import PatientProfile, Role, User
from accounts.services import totp_demo_device_set
from accounts.two_factor import ROLES_WITH_TWO_FACTOR
from hospital.models import Doctor, Specialty, TimeOff, VisitType, WorkingHours

DEMO_PASSWORD = "demo-pass-2026"
# The demo's staff and doctors share one authenticator secret (hex), so a reviewer without a phone
# can log in: `manage.py demo_totp_code EMAIL` prints the current code (with DEBUG on only). Only
# this seed uses it; a real account's secret is random and made when its owner sets up their app.
DEMO_TOTP_KEY = "64656d6f2d746f74702d6b65792d6e6f742d736563726574"  # "demo-totp-key-not-secret"

SPECIALTIES = {
    "Cardiology": "Heart and circulation: chest pain, palpitations, blood pressure.",
    "Dermatology": "Skin, hair and nails: rashes, moles, acne, eczema.",
    "General Practice": "Your first stop for any health concern, check-ups and referrals.",
    "Neurology": "Brain and nerves: headaches, dizziness, numbness, seizures.",
    "Orthopedics": "Bones, joints and muscles: sports injuries, back and knee pain.",
    "Pediatrics": "Care for babies, children and teenagers.",
}

MON_FRI = range(0, 5)


@dataclass(frozen=True)
class DemoDoctor:
    first_name: str
    last_name: str
    specialty: str
    timezone: str
    fee_amount: int
    fee_currency: str
    slot_minutes: int
    hours: tuple[tuple[range | tuple[int, ...], str, str], ...]
    bio: str

    @property
    def email(self) -> str:
        return f"{self.first_name}.{self.last_name}@example.com".lower()


DOCTORS = (
    DemoDoctor(
        "Amara",
        "Okafor",
        "Cardiology",
        "Europe/London",
        9000,
        "gbp",
        30,
        ((MON_FRI, "09:00", "12:30"), (MON_FRI, "13:30", "17:00")),
        "Consultant cardiologist with 15 years in heart-rhythm problems and preventive cardiology.",
    ),
    DemoDoctor(
        "James",
        "Whitfield",
        "General Practice",
        "Europe/London",
        4500,
        "gbp",
        15,
        ((range(0, 4), "08:00", "12:00"),),
        "Family doctor who likes to see the whole picture, from check-ups to long-term conditions.",
    ),
    DemoDoctor(
        "Grace",
        "Adeyemi",
        "Pediatrics",
        "Europe/London",
        7000,
        "gbp",
        30,
        (((1, 3), "16:00", "20:00"),),
        "Paediatrician offering after-school appointments for children of all ages.",
    ),
    DemoDoctor(
        "Lena",
        "Fischer",
        "Cardiology",
        "Europe/Berlin",
        11000,
        "eur",
        30,
        ((MON_FRI, "08:00", "13:00"),),
        "Cardiologist focused on heart failure and cardiac imaging.",
    ),
    DemoDoctor(
        "Sofia",
        "Marquez",
        "Dermatology",
        "America/New_York",
        12000,
        "usd",
        20,
        ((range(1, 6), "10:00", "16:00"),),
        "Board-certified dermatologist: skin checks, acne, eczema and psoriasis.",
    ),
    DemoDoctor(
        "Daniel",
        "Kim",
        "Pediatrics",
        "America/New_York",
        8000,
        "usd",
        30,
        (((0, 2, 4), "08:30", "14:30"),),
        "Pediatrician with a calm approach for anxious little patients and their parents.",
    ),
    DemoDoctor(
        "Marcus",
        "Bell",
        "General Practice",
        "America/Los_Angeles",
        6000,
        "usd",
        20,
        ((MON_FRI, "07:00", "11:00"), ((5,), "09:00", "12:00")),
        "Early-morning GP appointments before work, and Saturday mornings.",
    ),
    DemoDoctor(
        "Hiroshi",
        "Tanaka",
        "Orthopedics",
        "Asia/Tokyo",
        8000,
        "jpy",
        30,
        ((MON_FRI, "09:00", "12:00"), (MON_FRI, "14:00", "18:00")),
        "Orthopaedic surgeon specialising in sports injuries of the knee and shoulder.",
    ),
    DemoDoctor(
        "Priya",
        "Raman",
        "Neurology",
        "Australia/Sydney",
        15000,
        "aud",
        45,
        ((range(0, 4), "09:00", "15:45"),),
        "Neurologist for migraines, epilepsy and memory concerns.",
    ),
)

# Where each demo doctor sees patients (by last name): a room of the hospital's one site, or video.
DEMO_SITE = "Riverside Building, 1 Riverside Way"
DEMO_ROOMS = {
    "Okafor": "Room 2.14, Cardiology outpatients",
    "Whitfield": "Room G.03, General practice",
    "Adeyemi": "Room 1.20, Children's clinic",
    "Fischer": "Room 2.16, Cardiology outpatients",
    "Kim": "Room 1.22, Children's clinic",
    "Bell": "Room G.05, General practice",
    "Tanaka": "Room 3.02, Orthopaedics",
}
DEMO_VIDEO = {"Marquez", "Raman"}  # they see patients by video call

DEMO_PATIENT_EMAIL = "patient@example.com"  # the README's patient log-in
PATIENTS = (
    (DEMO_PATIENT_EMAIL, "Alex", "Morgan", dt.date(1988, 4, 12)),
    ("sam.taylor@example.com", "Sam", "Taylor", dt.date(1975, 11, 3)),
    ("jordan.lee@example.com", "Jordan", "Lee", dt.date(2001, 7, 21)),
)

STAFF = ("admin@example.com", "Hospital", "Admin")


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    name: str


def _demo_user(*, email: str, first_name: str, last_name: str, role: Role, is_superuser: bool = False) -> User:
    user, _ = User.objects.update_or_create(
        email=email,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "role": role,
            "is_staff": role == Role.STAFF,
            "is_superuser": is_superuser,
            "is_active": True,
        },
    )
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])
    if role in ROLES_WITH_TWO_FACTOR:
        totp_demo_device_set(user=user, key=DEMO_TOTP_KEY)
    return user


def _parse_hhmm(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


def _demo_doctor(spec: DemoDoctor, specialties: dict[str, Specialty]) -> Doctor:
    user = _demo_user(email=spec.email, first_name=spec.first_name, last_name=spec.last_name, role=Role.DOCTOR)
    doctor, _ = Doctor.objects.update_or_create(
        user=user,
        defaults={
            "specialty": specialties[spec.specialty],
            "bio": spec.bio,
            "fee_amount": spec.fee_amount,
            "fee_currency": spec.fee_currency,
            "slot_minutes": spec.slot_minutes,
            "timezone": spec.timezone,
            "is_active": True,
            "visit_type": VisitType.VIDEO if spec.last_name in DEMO_VIDEO else VisitType.IN_PERSON,
            "site": DEMO_SITE,
            "room": DEMO_ROOMS.get(spec.last_name, ""),
        },
    )
    wanted = {
        (weekday, _parse_hhmm(start), _parse_hhmm(end)) for weekdays, start, end in spec.hours for weekday in weekdays
    }
    current = {(h.weekday, h.start_time, h.end_time): h for h in doctor.working_hours.all()}
    for key, hours in current.items():
        if key not in wanted:
            hours.delete()
    WorkingHours.objects.bulk_create(
        WorkingHours(doctor=doctor, weekday=weekday, start_time=start, end_time=end)
        for weekday, start, end in sorted(wanted - current.keys())
    )
    return doctor


@transaction.atomic
def demo_seed() -> list[DemoLogin]:
    specialties = {}
    for name, description in SPECIALTIES.items():
        specialties[name], _ = Specialty.objects.update_or_create(name=name, defaults={"description": description})

    doctors = [_demo_doctor(spec, specialties) for spec in DOCTORS]

    # One doctor is away at a conference for two days next week, so time off shows in the demo.
    away = doctors[0]
    start_local = dt.datetime.combine(timezone.localdate() + dt.timedelta(days=7), dt.time(0), tzinfo=away.zone)
    TimeOff.objects.update_or_create(
        doctor=away,
        reason="Cardiology conference",
        defaults={"starts_at": start_local, "ends_at": start_local + dt.timedelta(days=2)},
    )

    logins = [DemoLogin("staff (admin)", STAFF[0], f"{STAFF[1]} {STAFF[2]}")]
    _demo_user(email=STAFF[0], first_name=STAFF[1], last_name=STAFF[2], role=Role.STAFF, is_superuser=True)
    for email, first_name, last_name, date_of_birth in PATIENTS:
        user = _demo_user(email=email, first_name=first_name, last_name=last_name, role=Role.PATIENT)
        PatientProfile.objects.update_or_create(user=user, defaults={"date_of_birth": date_of_birth})
        logins.append(DemoLogin("patient", email, user.get_full_name()))
    logins += [DemoLogin("doctor", d.user.email, d.display_name) for d in doctors]
    return logins
