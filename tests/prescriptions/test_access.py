"""Every prescription URL probed by everyone who may not read it: another patient, another doctor,
staff (outside clinical records, and inside: staff read prescriptions in the admin) and a visitor.
They get a 404 or the log-in page, never the data, and nothing is recorded as read."""

import pytest
from django.urls import reverse

from hospital.models import AuditEntry
from prescriptions.models import Prescription
from tests.factories import DoctorFactory, PatientFactory, StaffFactory
from tests.prescriptions.conftest import AMOXICILLIN

pytestmark = pytest.mark.django_db

POST_A_PRESCRIPTION = {
    "items-TOTAL_FORMS": "1",
    "items-INITIAL_FORMS": "0",
    **{f"items-0-{name}": str(value) for name, value in AMOXICILLIN.items()},
}


def prescription_urls(prescription) -> list[tuple[str, str]]:
    return [
        ("get", reverse("prescriptions:detail", args=[prescription.pk])),
        ("get", reverse("prescriptions:pdf", args=[prescription.pk])),
        ("get", reverse("prescriptions:correct", args=[prescription.pk])),
        ("post", reverse("prescriptions:correct", args=[prescription.pk])),
        ("get", reverse("prescriptions:write", args=[prescription.appointment_id])),
        ("post", reverse("prescriptions:write", args=[prescription.appointment_id])),
    ]


def the_data(prescription) -> list[str]:
    return [prescription.number, prescription.verification_code_display, "Amoxicillin", "Pat Lee"]


OUTSIDERS = {
    "another patient": lambda: PatientFactory(),
    "another doctor": lambda: DoctorFactory().user,
    "staff outside clinical records": lambda: StaffFactory(is_superuser=False),
    "staff in clinical records (the admin is their way in)": lambda: _clinical_records_staff(),
}


def _clinical_records_staff():
    from django.contrib.auth.models import Group

    from accounts.models import StaffGroup

    staff = StaffFactory(is_superuser=False)
    staff.groups.add(Group.objects.get_or_create(name=StaffGroup.CLINICAL_RECORDS)[0])
    return staff


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_a_404_for_every_prescription_url(client, prescription, who):
    client.force_login(OUTSIDERS[who]())
    audit_before = AuditEntry.objects.count()
    for method, url in prescription_urls(prescription):
        response = getattr(client, method)(url, POST_A_PRESCRIPTION if method == "post" else {})
        assert response.status_code == 404, f"{method} {url} as {who}: {response.status_code}"
        assert not any(piece in response.text for piece in the_data(prescription)), f"{method} {url} as {who}"
    listing = client.get(reverse("prescriptions:list"))
    assert listing.status_code in (200, 404)
    assert prescription.number not in listing.text
    assert Prescription.objects.count() == 1
    assert AuditEntry.objects.count() == audit_before


def test_visitors_are_sent_to_log_in(client, prescription):
    urls = [*prescription_urls(prescription), ("get", reverse("prescriptions:list"))]
    for method, url in urls:
        response = getattr(client, method)(url, POST_A_PRESCRIPTION if method == "post" else {})
        assert response.status_code == 302, f"{method} {url}"
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    assert Prescription.objects.count() == 1
    assert not AuditEntry.objects.filter(action="read").exists()


def test_the_patient_cannot_write_or_correct_their_own(client, prescription):
    client.force_login(prescription.patient)
    for method, url in prescription_urls(prescription)[2:]:
        response = getattr(client, method)(url, POST_A_PRESCRIPTION if method == "post" else {})
        assert response.status_code == 404, f"{method} {url}"
    assert Prescription.objects.count() == 1


def test_a_missing_prescription_is_the_same_404(client, prescription):
    client.force_login(prescription.patient)
    missing = Prescription.objects.order_by("-pk").first().pk + 100
    assert client.get(reverse("prescriptions:detail", args=[missing])).status_code == 404
    assert client.get(reverse("prescriptions:pdf", args=[missing])).status_code == 404
