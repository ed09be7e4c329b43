"""Issued = immutable: the ORM paths refuse, and on PostgreSQL so does SQL itself."""

import pytest
from django.db import DatabaseError, connection, transaction

from prescriptions.models import Prescription, PrescriptionIsIssued, PrescriptionItem
from tests.prescriptions.conftest import AMOXICILLIN

pytestmark = pytest.mark.django_db


def test_an_issued_prescription_cannot_be_saved_or_deleted(prescription):
    loaded = Prescription.objects.get(pk=prescription.pk)
    loaded.general_advice = "rewritten"
    with pytest.raises(PrescriptionIsIssued):
        loaded.save()
    with pytest.raises(PrescriptionIsIssued):
        loaded.delete()
    with pytest.raises(PrescriptionIsIssued):
        prescription.save()  # the very instance the service issued
    with pytest.raises(PrescriptionIsIssued):
        Prescription.objects.filter(pk=prescription.pk).update(general_advice="rewritten")
    with pytest.raises(PrescriptionIsIssued):
        Prescription.objects.all().delete()
    with pytest.raises(PrescriptionIsIssued):
        Prescription.objects.only("number").get(pk=prescription.pk).save()
    assert Prescription.objects.get().general_advice == "Drink plenty of fluids."


def test_its_items_cannot_be_changed_added_or_deleted(prescription):
    item = prescription.items.first()
    item.quantity = 99
    with pytest.raises(PrescriptionIsIssued):
        item.save()
    with pytest.raises(PrescriptionIsIssued):
        item.delete()
    with pytest.raises(PrescriptionIsIssued):
        PrescriptionItem.objects.filter(prescription=prescription).update(quantity=99)
    with pytest.raises(PrescriptionIsIssued):
        PrescriptionItem.objects.all().delete()
    with pytest.raises(PrescriptionIsIssued):
        PrescriptionItem.objects.create(prescription=prescription, position=9, **AMOXICILLIN)
    assert [item.quantity for item in prescription.items.all()] == [21, 1]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE prescriptions_prescription SET general_advice = 'rewritten'",
        "DELETE FROM prescriptions_prescription",
        "UPDATE prescriptions_prescriptionitem SET quantity = 99",
        "DELETE FROM prescriptions_prescriptionitem",
        "INSERT INTO prescriptions_prescriptionitem"
        " (prescription_id, position, medicine, strength, dose, route, frequency, duration, quantity, instructions)"
        " SELECT id, 9, 'Extra', '', '1', 'oral', 'daily', '1 day', 1, '' FROM prescriptions_prescription",
    ],
)
def test_postgresql_refuses_raw_sql_on_issued_prescriptions(prescription, sql):
    with pytest.raises(DatabaseError, match="issued"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert Prescription.objects.get().general_advice == "Drink plenty of fluids."
    assert [item.quantity for item in prescription.items.all()] == [21, 1]
