"""The demo's money history (payments/demo_history.py): months of paid visits in several
currencies with their receipts, the refund and dispute stories staff meet, credit notes, every
status derived from the facts, visits to come for the demo patient, and the money dashboard with
more than one month to show."""

import datetime as dt
import re
from collections import Counter

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import User
from appointments.models import Appointment, AppointmentStatus, CancelReason
from payments.models import (
    CreditNote,
    Dispute,
    Payment,
    PaymentStatus,
    Receipt,
    Refund,
    RefundReason,
    RefundStatus,
)
from payments.selectors import cancellation_quote, reschedule_refusal

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 3, 10, 7, tzinfo=dt.UTC)  # the history reaches back into 2025
S = AppointmentStatus


@pytest.fixture
def seeded():
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=None)


def the_refund(reason: str) -> Refund:
    [refund] = Refund.objects.filter(reason=reason).select_related("payment__appointment")
    return refund


def test_months_of_paid_visits_for_several_doctors_in_several_currencies(seeded):
    past = Appointment.objects.filter(slot__starts_at__lt=NOW - dt.timedelta(days=3))
    completed = past.filter(status=S.COMPLETED)
    assert completed.values("doctor").distinct().count() >= 6
    assert set(completed.values_list("fee_currency", flat=True)) >= {"gbp", "eur", "usd", "aud"}
    months = {(visit.slot.starts_at.year, visit.slot.starts_at.month) for visit in completed.select_related("slot")}
    assert len(months) >= 6
    assert past.filter(status=S.NO_SHOW).count() >= 3
    assert min(visit.slot.starts_at for visit in past.select_related("slot")) >= NOW - dt.timedelta(days=181)
    # Each was paid (and numbered) before it took place.
    for visit in past.select_related("payment", "slot"):
        assert visit.payment.paid_at == visit.created_at < visit.slot.starts_at


def test_each_money_story_is_there_with_its_derived_statuses(seeded):
    canceled_by_patients = Appointment.objects.filter(cancel_reason=CancelReason.PATIENT).select_related("payment")
    assert sorted(visit.payment.status for visit in canceled_by_patients) == [
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    ]
    assert sorted(
        visit.payment.refunded_amount * 100 // visit.payment.captured_amount for visit in canceled_by_patients
    ) == [50, 100]
    assert "patient@example.com" in {visit.patient.email for visit in canceled_by_patients}

    doctor = the_refund(RefundReason.DOCTOR_CANCELED)
    assert doctor.amount == doctor.payment.captured_amount and doctor.payment.status == PaymentStatus.REFUNDED
    assert doctor.payment.appointment.cancel_reason == CancelReason.DOCTOR
    assert doctor.payment.appointment.cancel_note  # the patient was told why

    staff = the_refund(RefundReason.STAFF)
    assert staff.requested_by == User.objects.get(email="admin@example.com") and staff.note
    assert 0 < staff.amount < staff.payment.captured_amount
    assert staff.payment.appointment.status == S.COMPLETED  # a refund never moves a visit that took place
    assert staff.payment.status == PaymentStatus.PARTIALLY_REFUNDED

    dashboard = the_refund(RefundReason.STRIPE)  # made in Stripe's Dashboard: nobody of ours asked
    assert dashboard.requested_by is None and dashboard.payment.appointment.status == S.COMPLETED
    assert dashboard.payment.status == PaymentStatus.PARTIALLY_REFUNDED

    [dispute] = Dispute.objects.select_related("payment")
    assert dispute.is_open and dispute.evidence_due_by > NOW
    assert dispute.payment.status == PaymentStatus.DISPUTED

    # Every refund went through, each with its credit note, recorded when it happened.
    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.SUCCEEDED}
    assert CreditNote.objects.count() == Refund.objects.count() == 5
    for refund in Refund.objects.select_related("credit_note"):
        assert refund.credit_note.amount == refund.amount
        assert refund.created_at <= refund.credit_note.issued_at <= NOW
    # Statuses are the facts' own, never set by hand.
    for payment in Payment.objects.all():
        refunded = sum(payment.refunds.values_list("amount", flat=True))
        assert (payment.refunded_amount, payment.status) == (refunded, payment.derived_status())


@pytest.mark.parametrize("model", [Receipt, CreditNote])
def test_receipts_and_credit_notes_are_numbered_without_a_gap_the_history_in_the_order_issued(seeded, model):
    assert Receipt.objects.count() == Payment.objects.filter(captured_amount__gt=0).count()
    assert set(Receipt.objects.values_list("year", flat=True)) == {2025, 2026}  # the history began in December
    for year, count in Counter(model.objects.values_list("year", flat=True)).items():
        issued = list(model.objects.filter(year=year).order_by("number"))
        assert [document.number for document in issued] == list(range(1, count + 1))
        # Today's visits (paid three days before their day) are numbered after the history.
        history = [
            document.issued_at for document in issued if document.issued_at < NOW - dt.timedelta(days=3, hours=12)
        ]
        assert history == sorted(history) == [document.issued_at for document in issued[: len(history)]]


def test_the_demo_patient_has_a_paid_visit_to_come_to_cancel_in_full_or_move(seeded):
    patient = User.objects.get(email="patient@example.com")
    ahead = Appointment.objects.filter(
        patient=patient, status=S.CONFIRMED, slot__starts_at__gt=NOW + dt.timedelta(hours=24)
    ).select_related("payment__receipt", "slot", "doctor")
    assert ahead.count() >= 2
    for visit in ahead:
        assert visit.payment.receipt.amount == visit.payment.captured_amount
        assert cancellation_quote(appointment=visit, payment=visit.payment, by=patient, now=NOW).percent == 100
        assert reschedule_refusal(appointment=visit, payment=visit.payment, by=patient, now=NOW) == ""


def test_the_money_dashboard_shows_more_than_one_month(client, seeded):
    client.force_login(User.objects.get(email="admin@example.com"))
    with time_machine.travel(NOW, tick=False):
        response = client.get("/admin/payments/dashboard/")

    assert response.status_code == 200
    section = next(section for section in response.context["sections"] if section.slug == "revenue-by-month")
    history_currencies = {f"Revenue per month in {code}" for code in ("GBP", "EUR", "USD", "AUD")}
    for part in (part for part in section.parts if part.caption in history_currencies):
        months_with_money = [row for row in part.rows if re.search("[1-9]", row[1])]  # captured, not zero
        assert len(months_with_money) >= 5, part.caption
    assert {part.caption for part in section.parts} >= {
        f"Revenue per month in {code}" for code in ("GBP", "EUR", "USD", "AUD")
    }
