"""Staff read prescriptions in the admin: read-only, clinical records only, each read audited."""

import pytest
from django.urls import reverse

from hospital.models import AuditAction, AuditEntry
from prescriptions.models import Prescription

pytestmark = pytest.mark.django_db


def test_clinical_records_staff_read_a_prescription_and_the_read_is_audited(
    client, prescription, clinical_records_staff
):
    client.force_login(clinical_records_staff)
    listing = client.get(reverse("admin:prescriptions_prescription_changelist"))
    assert listing.status_code == 200 and prescription.number in listing.text
    assert not AuditEntry.objects.filter(action=AuditAction.READ).exists()  # the list names no medicine

    page = client.get(reverse("admin:prescriptions_prescription_change", args=[prescription.pk]))
    assert page.status_code == 200
    assert "Amoxicillin" in page.text and "Salbutamol inhaler" in page.text and "Current" in page.text
    entry = AuditEntry.objects.get(action=AuditAction.READ)
    assert (entry.actor, entry.patient, entry.record_id) == (
        clinical_records_staff,
        prescription.patient,
        str(prescription.pk),
    )


def test_the_admin_offers_no_add_change_or_delete(client, prescription, clinical_records_staff):
    client.force_login(clinical_records_staff)
    assert client.get(reverse("admin:prescriptions_prescription_add")).status_code == 403
    assert client.get(reverse("admin:prescriptions_prescription_delete", args=[prescription.pk])).status_code == 403
    change_url = reverse("admin:prescriptions_prescription_change", args=[prescription.pk])
    assert client.post(change_url, {"general_advice": "rewritten"}).status_code == 403
    assert 'name="_save"' not in client.get(change_url).text
    assert Prescription.objects.get().general_advice == "Drink plenty of fluids."


def test_staff_outside_clinical_records_see_nothing_whatever_their_permissions(client, prescription, billing_staff):
    client.force_login(billing_staff)
    index = client.get(reverse("admin:index"))
    assert "Prescriptions" not in index.text
    for url in (
        reverse("admin:prescriptions_prescription_changelist"),
        reverse("admin:prescriptions_prescription_change", args=[prescription.pk]),
        reverse("admin:prescriptions_prescription_change", args=[prescription.pk + 100]),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert prescription.number not in response.text
    assert not AuditEntry.objects.filter(action=AuditAction.READ).exists()


def test_a_superuser_counts_as_clinical_records(client, prescription, staff):
    client.force_login(staff)
    assert "Prescriptions" in client.get(reverse("admin:index")).text
    assert client.get(reverse("admin:prescriptions_prescription_change", args=[prescription.pk])).status_code == 200
