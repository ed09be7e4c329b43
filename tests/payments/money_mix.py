"""Payments and refunds as the money flows leave them, made directly at chosen moments, for the
money dashboard's tests (tests/payments/test_dashboard.py and the browser's)."""

import datetime as dt
import itertools

from appointments.models import Appointment, AppointmentStatus
from payments.models import Payment, Refund, RefundReason, RefundStatus
from tests.factories import visit

_intents = itertools.count(1)


def at(year, month, day, hour=12, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def paid_visit(doctor, *, paid_at, status=AppointmentStatus.COMPLETED, cancel_reason="", starts_at=None) -> Payment:
    """A visit of `doctor` paid in full at `paid_at` (its time three days later unless given)."""
    appointment = visit(status=status, doctor=doctor, starts_at=starts_at or paid_at + dt.timedelta(days=3))
    Appointment.objects.filter(pk=appointment.pk).update(cancel_reason=cancel_reason)
    intent = f"pi_mix_{next(_intents)}"
    Payment.objects.filter(appointment=appointment).update(paid_at=paid_at, payment_intent_id=intent)
    return Payment.objects.get(appointment=appointment)


def refund(payment, amount, *, made_at, status=RefundStatus.SUCCEEDED, reason=RefundReason.STAFF, intent=None):
    row = Refund.objects.create(
        payment=payment,
        payment_intent_id=intent or payment.payment_intent_id,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        status=status,
    )
    Refund.objects.filter(pk=row.pk).update(created_at=made_at)
    return row


def a_year_of_money(doctors, *, now: dt.datetime) -> None:
    """For each of the twelve months up to `now`, a few visits of each doctor, a changing number of
    them, some refunded in part or in full, one no-show and one cancellation a month."""
    for months_back in range(12):
        index = now.year * 12 + now.month - 1 - months_back
        month_day = dt.datetime(index // 12, index % 12 + 1, 3, 10, tzinfo=dt.UTC)
        for doctor_index, doctor in enumerate(doctors):
            for visit_index in range(1 + (months_back + doctor_index) % 4):
                paid_at = month_day + dt.timedelta(days=visit_index, hours=doctor_index)
                status = AppointmentStatus.COMPLETED
                if visit_index == 1 and doctor_index == 0:
                    status = AppointmentStatus.NO_SHOW
                payment = paid_visit(doctor, paid_at=paid_at, status=status)
                if visit_index == 2:
                    refund(payment, payment.captured_amount // 2, made_at=paid_at + dt.timedelta(days=1))
        canceled = paid_visit(
            doctors[-1], paid_at=month_day + dt.timedelta(days=9), status=AppointmentStatus.CANCELED,
            cancel_reason="patient",
        )  # fmt: skip
        refund(canceled, canceled.captured_amount, made_at=month_day + dt.timedelta(days=10))
