"""Who may issue a prescription and when; what a refusal leaves behind (nothing); corrections."""

import datetime as dt
import re

import pytest

from hospital.models import AuditAction, AuditEntry
from prescriptions.models import VERIFICATION_ALPHABET, Prescription, PrescriptionItem, PrescriptionNumberSequence
from prescriptions.selectors import Verdict, prescription_verdict
from prescriptions.services import PrescriptionError
from tests.factories import DoctorFactory, PatientFactory, visit
from tests.prescriptions.conftest import AMOXICILLIN, SALBUTAMOL, issue

pytestmark = pytest.mark.django_db


def assert_nothing_written():
    assert Prescription.objects.count() == 0
    assert PrescriptionItem.objects.count() == 0
    assert not AuditEntry.objects.filter(record_type="prescriptions.prescription").exists()
    assert not PrescriptionNumberSequence.objects.filter(last_number__gt=0).exists()


def test_the_visits_doctor_issues_a_prescription_with_its_items_number_and_code(completed_visit):
    prescription = issue(completed_visit, items=[AMOXICILLIN, SALBUTAMOL], follow_up_on=None)

    prescription.refresh_from_db()
    assert prescription.issued_at is not None
    assert (prescription.doctor, prescription.patient) == (completed_visit.doctor, completed_visit.patient)
    assert re.fullmatch(rf"RX-{prescription.issued_on.year}-000001", prescription.number)
    assert len(prescription.verification_code) == 12
    assert set(prescription.verification_code) <= set(VERIFICATION_ALPHABET)
    assert [(item.position, item.medicine, item.quantity) for item in prescription.items.all()] == [
        (1, "Amoxicillin", 21),
        (2, "Salbutamol inhaler", 1),
    ]
    assert prescription.general_advice == "Drink plenty of fluids."


def test_numbers_follow_each_other_and_codes_differ(rx_doctor):
    first = issue(visit(status="completed", doctor=rx_doctor))
    second = issue(visit(status="completed", doctor=rx_doctor))
    assert (first.number[-6:], second.number[-6:]) == ("000001", "000002")
    assert first.verification_code != second.verification_code


def test_the_numbers_year_is_the_doctors_on_new_years_eve(db):
    """31 Dec 2026 20:00 in New York is already 2027 in UTC: the number says 2026, as the date printed does."""
    new_york = DoctorFactory(timezone="America/New_York")
    moment = dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)
    prescription = issue(visit(status="completed", doctor=new_york), now=moment)
    assert prescription.number == "RX-2026-000001"
    assert prescription.issued_on == dt.date(2026, 12, 31)


def test_issuing_is_audited_with_the_doctor_patient_and_address(completed_visit):
    prescription = issue(completed_visit)
    entry = AuditEntry.objects.get(action=AuditAction.CREATE)
    assert (entry.actor, entry.patient, entry.record_id, entry.ip_address) == (
        completed_visit.doctor.user,
        completed_visit.patient,
        str(prescription.pk),
        "203.0.113.7",
    )
    assert prescription.number in entry.summary


def test_another_doctor_is_refused(completed_visit):
    with pytest.raises(PrescriptionError, match="Only the visit's own doctor"):
        issue(completed_visit, doctor_user=DoctorFactory().user)
    assert_nothing_written()


def test_a_patient_is_refused_even_their_own_visit(completed_visit):
    with pytest.raises(PrescriptionError, match="Only the visit's own doctor"):
        issue(completed_visit, doctor_user=completed_visit.patient)
    assert_nothing_written()


@pytest.mark.parametrize("status", ["confirmed", "in_progress", "no_show", "canceled"])
def test_a_visit_that_is_not_completed_is_refused(rx_doctor, status):
    appointment = visit(status=status, doctor=rx_doctor)
    with pytest.raises(PrescriptionError, match="once the visit is completed"):
        issue(appointment)
    assert_nothing_written()


def test_an_unpaid_visit_is_refused(rx_doctor):
    with pytest.raises(PrescriptionError, match="only for a paid visit"):
        issue(visit(status="completed", paid=False, doctor=rx_doctor))
    assert_nothing_written()


def test_a_visit_refunded_in_full_is_refused(rx_doctor):
    from payments.models import PaymentStatus

    appointment = visit(status="completed", doctor=rx_doctor)
    appointment.payment.refunded_amount = appointment.payment.captured_amount
    appointment.payment.status = PaymentStatus.REFUNDED
    appointment.payment.save()
    with pytest.raises(PrescriptionError, match="only for a paid visit"):
        issue(appointment)
    assert_nothing_written()


def test_no_items_is_refused(completed_visit):
    with pytest.raises(PrescriptionError, match="at least one medicine"):
        issue(completed_visit, items=[])
    assert_nothing_written()


@pytest.mark.parametrize(
    ("change", "message"),
    [({"medicine": "  "}, "medicine"), ({"quantity": 0}, "at least 1"), ({"route": "by-post"}, "route")],
)
def test_an_incomplete_item_is_refused(completed_visit, change, message):
    with pytest.raises(PrescriptionError, match=message):
        issue(completed_visit, items=[SALBUTAMOL, {**AMOXICILLIN, **change}])
    assert_nothing_written()


@pytest.mark.parametrize(
    ("zone", "utc_now", "yesterday_there", "today_there"),
    [
        # 08:00 in Tokyo on 2 June is still 1 June in UTC.
        ("Asia/Tokyo", dt.datetime(2026, 6, 1, 23, 0, tzinfo=dt.UTC), dt.date(2026, 6, 1), dt.date(2026, 6, 2)),
        # 20:00 in New York on 1 June is already 2 June in UTC.
        ("America/New_York", dt.datetime(2026, 6, 2, 0, 0, tzinfo=dt.UTC), dt.date(2026, 5, 31), dt.date(2026, 6, 1)),
    ],
)
def test_the_follow_up_is_today_or_later_on_the_doctors_calendar(zone, utc_now, yesterday_there, today_there):
    doctor = DoctorFactory(timezone=zone)
    with pytest.raises(PrescriptionError, match="follow-up date is in the past"):
        issue(visit(status="completed", doctor=doctor), follow_up_on=yesterday_there, now=utc_now)
    assert_nothing_written()

    prescription = issue(visit(status="completed", doctor=doctor), follow_up_on=today_there, now=utc_now)
    assert (prescription.issued_on, prescription.follow_up_on) == (today_there, today_there)


def test_the_database_refuses_a_follow_up_before_the_day_of_issue(prescription):
    from django.db import IntegrityError, transaction

    row = {
        field.attname: getattr(prescription, field.attname)
        for field in Prescription._meta.concrete_fields
        if field.attname != "id"
    }
    row.update(number="RX-2000-000001", supersedes_id=prescription.pk, follow_up_on=dt.date(2000, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Prescription.objects.bulk_create([Prescription(**row)])


def test_a_second_prescription_for_one_visit_is_refused_and_names_the_first(prescription):
    """A form submitted twice issues once: the second submit is told of the first."""
    with pytest.raises(PrescriptionError, match=f"{prescription.number} was already issued") as refused:
        issue(prescription.appointment)
    assert refused.value.existing == prescription
    assert Prescription.objects.count() == 1


def test_a_correction_supersedes_the_old_and_both_are_kept(prescription):
    correction = issue(prescription.appointment, supersedes=prescription, items=[{**AMOXICILLIN, "quantity": 15}])

    assert Prescription.objects.count() == 2
    assert correction.supersedes == prescription
    assert [item.quantity for item in prescription.items.all()] == [21, 1]  # the old one as it was
    assert [item.quantity for item in correction.items.all()] == [15]
    by_state = dict(Prescription.objects.with_superseded().values_list("number", "is_superseded"))
    assert by_state == {prescription.number: True, correction.number: False}
    old_code = prescription.verification_code
    assert prescription_verdict(number=prescription.number, code=old_code) == Verdict.SUPERSEDED
    assert prescription_verdict(number=correction.number, code=correction.verification_code) == Verdict.VALID


def test_only_the_current_version_can_be_corrected(prescription):
    correction = issue(prescription.appointment, supersedes=prescription)
    with pytest.raises(PrescriptionError, match=f"already been corrected by {correction.number}") as refused:
        issue(prescription.appointment, supersedes=prescription)
    assert refused.value.existing == correction
    second = issue(prescription.appointment, supersedes=correction)
    assert second.supersedes == correction
    assert Prescription.objects.count() == 3


def test_a_prescription_of_another_visit_cannot_be_corrected_from_this_one(prescription, rx_doctor):
    other_visit = visit(status="completed", doctor=rx_doctor, patient=PatientFactory())
    with pytest.raises(PrescriptionError, match="not one of this visit's"):
        issue(other_visit, supersedes=prescription)
    assert Prescription.objects.count() == 1
