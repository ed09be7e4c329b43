"""The audit log of medical data is insert-only: the app records, nothing in it edits or deletes."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from hospital.audit import audit_record
from hospital.models import AuditAction, AuditEntry, AuditLogIsInsertOnly
from tests.factories import DoctorFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry():
    doctor = DoctorFactory()
    patient = PatientFactory()
    return audit_record(
        actor=doctor.user, action=AuditAction.READ, record=doctor, patient=patient, ip="203.0.113.9", summary="x"
    )


def test_an_entry_names_who_what_whose_and_from_where(entry):
    row = AuditEntry.objects.get()
    assert (row.actor, row.action, row.record_type, row.record_id, row.ip_address) == (
        entry.actor,
        "read",
        "hospital.doctor",
        str(entry.record_id),
        "203.0.113.9",
    )


def test_the_orm_refuses_to_change_or_delete_entries(entry):
    with pytest.raises(AuditLogIsInsertOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(summary="rewritten")
    with pytest.raises(AuditLogIsInsertOnly):
        AuditEntry.objects.all().delete()
    entry.summary = "rewritten"
    with pytest.raises(AuditLogIsInsertOnly):
        entry.save()
    with pytest.raises(AuditLogIsInsertOnly):
        entry.delete()
    assert AuditEntry.objects.get().summary == "x"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_raw_updates_and_deletes(entry):
    for sql in ("UPDATE hospital_auditentry SET summary = 'rewritten'", "DELETE FROM hospital_auditentry"):
        with pytest.raises(DatabaseError, match="insert-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEntry.objects.get().summary == "x"


def test_the_admin_shows_entries_but_offers_no_add_change_or_delete(client, entry):
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get(reverse("admin:hospital_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200 and b"203.0.113.9" in page.content
    assert client.get(reverse("admin:hospital_auditentry_add")).status_code == 403
    assert client.get(reverse("admin:hospital_auditentry_delete", args=[entry.pk])).status_code == 403
    assert (
        client.post(reverse("admin:hospital_auditentry_change", args=[entry.pk]), {"summary": "y"}).status_code == 403
    )
    assert AuditEntry.objects.get().summary == "x"
