"""The permission matrix: every endpoint x every role, with the status each must get.

Each area's test module lists its endpoints as `Row`s and runs them with `check_row`. A row's
refused roles run first and must change nothing; the allowed role runs last, so one world serves
the whole row even when the call writes.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import StaffGroup

ROLES = ("anonymous", "patient", "other_patient", "doctor", "other_doctor", "staff")


@dataclass
class World:
    """Two patients, two doctors and a billing clerk; `visit` is the patient's confirmed, paid
    visit with `doctor`, three days ahead (so a cancellation gets a full refund)."""

    patient: object
    other_patient: object
    doctor: object  # hospital.Doctor (its user is `doctor.user`)
    other_doctor: object
    staff: object
    visit: object  # appointments.Appointment

    def user(self, role: str):
        return {
            "anonymous": None,
            "patient": self.patient,
            "other_patient": self.other_patient,
            "doctor": self.doctor.user,
            "other_doctor": self.other_doctor.user,
            "staff": self.staff,
        }[role]


def build_world() -> World:
    from tests.factories import DoctorFactory, PatientFactory, StaffFactory, visit

    doctor = DoctorFactory(user__email="doc@example.com", timezone="Asia/Tokyo", fee_currency="jpy", fee_amount=8000)
    other_doctor = DoctorFactory(user__email="other-doc@example.com", timezone="America/New_York")
    patient = PatientFactory(email="pat@example.com", first_name="Pat")
    staff = StaffFactory(email="billing@example.com", is_superuser=False)
    staff.groups.add(Group.objects.get(name=StaffGroup.BILLING))
    starts_at = (timezone.now() + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    return World(
        patient=patient,
        other_patient=PatientFactory(email="other-pat@example.com"),
        doctor=doctor,
        other_doctor=other_doctor,
        staff=staff,
        visit=visit(patient=patient, doctor=doctor, starts_at=starts_at),
    )


@dataclass
class Row:
    method: str
    path: Callable[[World], str]
    expected: dict[str, int]  # one status per role in ROLES
    body: Callable[[World], dict] | dict | None = None
    headers: dict = field(default_factory=dict)

    def __post_init__(self):
        missing = set(ROLES) - set(self.expected)
        assert not missing, f"{self.method} row has no expected status for {sorted(missing)}"


def check_row(world: World, row: Row, client_for: Callable) -> None:
    """Each role calls; the statuses seen are compared all at once, so a failure shows the row."""
    body = row.body(world) if callable(row.body) else row.body
    path = row.path(world)
    seen = {}
    for role in sorted(ROLES, key=lambda r: row.expected[r] < 400):  # refusals first
        response = getattr(client_for(role), row.method.lower())(path, body, format="json", **row.headers)
        seen[role] = response.status_code
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}, (role, response.content)
    assert seen == row.expected, f"{row.method} {path}"
