import datetime as dt

import pytest
from django.contrib.auth.models import Group

from accounts.models import StaffGroup
from prescriptions.services import prescription_issue
from tests.factories import DoctorFactory, PatientFactory, StaffFactory, UserFactory, visit

AMOXICILLIN = {
    "medicine": "Amoxicillin",
    "strength": "500 mg",
    "dose": "1 capsule",
    "route": "oral",
    "frequency": "3 times a day",
    "duration": "7 days",
    "quantity": 21,
    "instructions": "after food",
}
SALBUTAMOL = {
    "medicine": "Salbutamol inhaler",
    "strength": "100 micrograms",
    "dose": "2 puffs",
    "route": "inhaled",
    "frequency": "when needed, up to 4 times a day",
    "duration": "1 month",
    "quantity": 1,
    "instructions": "",
}


@pytest.fixture
def rx_doctor(db):
    return DoctorFactory(user=UserFactory(first_name="Kenji", last_name="Sato", role="doctor"), timezone="Asia/Tokyo")


@pytest.fixture
def rx_patient(db):
    return PatientFactory(first_name="Pat", last_name="Lee", email="pat.lee@example.com")


@pytest.fixture
def completed_visit(rx_doctor, rx_patient):
    return visit(status="completed", paid=True, doctor=rx_doctor, patient=rx_patient)


def issue(appointment, *, items=(AMOXICILLIN,), doctor_user=None, supersedes=None, now=None, **fields):
    return prescription_issue(
        doctor_user=doctor_user or appointment.doctor.user,
        appointment_id=appointment.pk,
        items=list(items),
        general_advice=fields.pop("general_advice", "Drink plenty of fluids."),
        follow_up_on=fields.pop("follow_up_on", None),
        supersedes_id=supersedes.pk if supersedes else None,
        ip="203.0.113.7",
        now=now,
        **fields,
    )


@pytest.fixture
def prescription(completed_visit):
    return issue(completed_visit, items=[AMOXICILLIN, SALBUTAMOL])


@pytest.fixture
def clinical_records_staff(db):
    staff = StaffFactory(email="records@example.com", is_superuser=False)
    staff.groups.add(Group.objects.get_or_create(name=StaffGroup.CLINICAL_RECORDS)[0])
    return staff


@pytest.fixture
def billing_staff(db):
    """Staff outside clinical records, even holding every prescription model permission."""
    from django.contrib.auth.models import Permission

    staff = StaffFactory(email="billing@example.com", is_superuser=False)
    staff.groups.add(Group.objects.get_or_create(name=StaffGroup.BILLING)[0])
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="prescriptions"))
    return staff


def tomorrow_in(zone: str) -> dt.date:
    import zoneinfo

    return (dt.datetime.now(zoneinfo.ZoneInfo(zone)) + dt.timedelta(days=1)).date()
