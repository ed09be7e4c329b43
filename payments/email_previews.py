"""Demo data for the admin's previews of the payments e-mails: unsaved objects only, on the
appointments demo visit (appointments.email_previews)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from appointments.email_previews import demo_appointment
from appointments.emails import visit_headline
from appointments.models import AppointmentStatus
from hospital.email_previews import register_preview
from payments.card_failures import DECLINED
from payments.models import ChargeRefundsSync, Dispute, Payment, Refund, RefundReason, RefundStatus, StripeDisputeStatus
from payments.services.drift import DriftReport
from payments.services.refunds import REFUND_REFUSED_WORDS

AMOUNT = "$50.00"


def _payment() -> Payment:
    appointment = demo_appointment(status=AppointmentStatus.CANCELED)
    return Payment(pk=880, appointment=appointment, amount=5000, currency="usd", captured_amount=5000)


def _refund(**facts) -> Refund:
    return Refund(pk=412, payment=_payment(), amount=5000, currency="usd", **facts)


def _patient(status: str = AppointmentStatus.CANCELED, **context) -> Callable[[], dict]:
    return lambda: {"appointment": demo_appointment(status=status), "amount": AMOUNT, **context}


def _returned() -> dict:
    refund = _refund(
        status=RefundStatus.FAILED, reason=RefundReason.DOCTOR_CANCELED, failure_reason="lost_or_stolen_card"
    )
    return {"refund": refund, "appointment": refund.payment.appointment, "amount": AMOUNT}


def _dispute(status: str) -> Callable[[], dict]:
    def context() -> dict:
        payment = _payment()
        dispute = Dispute(
            stripe_dispute_id="dp_3Demo",
            payment=payment,
            amount=5000,
            currency="usd",
            status=status,
            reason="fraudulent",
        )
        return {"dispute": dispute, "payment": payment, "amount": AMOUNT, "due_by": "Wed 16 Dec 2026 23:59 GMT"}

    return context


def _moved() -> dict:
    appointment = demo_appointment()
    return {
        "appointment": appointment,
        "doctor": appointment.doctor,
        "starts": appointment.slot.starts_at,
        "old_starts": appointment.slot.starts_at - dt.timedelta(days=1),
        "why": "Dr Tanaka is away at a conference that day.",
    }


def register() -> None:
    headline = visit_headline(demo_appointment())
    patient_emails = [
        (
            "payments/email/payment_failed.txt",
            "Card payment failed",
            f"Your payment did not go through: {headline}",
            _patient(AppointmentStatus.PENDING_PAYMENT, reason=DECLINED, hold_lives=True),
        ),
        (
            "payments/email/appointment_canceled.txt",
            "Booking canceled (by the doctor or the hospital)",
            "Booking #1042 canceled",
            _patient(by_patient=False, note="Dr Tanaka is away at a conference that day.", refund=AMOUNT),
        ),
        (
            "payments/email/canceled_refunded.txt",
            "Booking canceled: payment refunded at Stripe",
            "Booking #1042 canceled: your payment was refunded",
            _patient(),
        ),
        (
            "payments/email/late_payment_refund.txt",
            "Late payment refunded (slot taken)",
            "Your payment is being refunded",
            _patient(AppointmentStatus.EXPIRED),
        ),
        (
            "payments/email/started_payment_refund.txt",
            "Late payment refunded (visit started)",
            "Your payment is being refunded",
            _patient(AppointmentStatus.EXPIRED),
        ),
        (
            "payments/email/appointment_moved.txt",
            "Booking moved (by the doctor's time off)",
            "Booking #1042 moved to Thu 10 Dec, 10:00 JST",
            _moved,
        ),
        (
            "payments/email/refund_completed.txt",
            "Refund completed",
            f"Your refund of {AMOUNT} has gone through",
            _patient(),
        ),
        (
            "payments/email/refund_returned_patient.txt",
            "Refund did not go through",
            "Your refund did not go through",
            _patient(why=REFUND_REFUSED_WORDS),
        ),
    ]
    for template, title, subject, context in patient_emails:
        register_preview(template=template, title=title, audience="Patient", subject=subject, context=context)
    register_preview(
        template="payments/email/refund_failed.txt",
        title="Refund refused by Stripe",
        audience="Staff",
        subject="Refund #412 failed and needs attention",
        context=lambda: {
            "refund": _refund(status=RefundStatus.FAILED, reason=RefundReason.PATIENT_CANCELED),
            "error": "charge_already_refunded: Charge ch_3Demo has already been refunded.",
            "amount": AMOUNT,
        },
    )
    register_preview(
        template="payments/email/refund_returned.txt",
        title="Refund returned by the bank",
        audience="Staff",
        subject="Refund #412 failed at the bank and needs a person",
        context=_returned,
    )
    for stage, status, title in (
        ("opened", StripeDisputeStatus.NEEDS_RESPONSE, "Card dispute opened"),
        ("closed", StripeDisputeStatus.LOST, "Card dispute closed (lost)"),
    ):
        register_preview(
            template=f"payments/email/dispute_{stage}.txt",
            title=title,
            audience="Billing staff",
            subject=f"Card dispute {stage} on payment #880: {AMOUNT}",
            context=_dispute(status),
        )
    register_preview(
        template="payments/email/reconciliation_summary.txt",
        title="Reconciliation with Stripe changed something",
        audience="Staff",
        subject="Reconciliation with Stripe: 2 change(s) made",
        context=lambda: {
            "report": DriftReport(
                dry_run=False,
                to_check=14,
                checked=14,
                changes=[
                    "Payment #880: recorded the payment of $50.00 made at Stripe; the appointment is confirmed",
                    "Payment #881: recorded refund re_3Demo of $20.00 made at Stripe (succeeded)",
                ],
                problems=["Payment #870: Stripe has $50.00 refunded, our records $25.00"],
            ),
            "ran_at": "2026-12-01 18:15 UTC",
        },
    )
    register_preview(
        template="payments/email/money_without_booking.txt",
        title="Money held for a canceled booking",
        audience="Staff",
        subject="Payment #880 holds money for a canceled appointment",
        context=lambda: {"payment": _payment(), "amount": AMOUNT},
    )
    register_preview(
        template="payments/email/charge_refunds_failed.txt",
        title="Refunds at Stripe could not be recorded",
        audience="Staff",
        subject="The refunds of payment intent pi_3Demo could not be recorded",
        context=lambda: {
            "sync": ChargeRefundsSync(pk=19, payment_intent_id="pi_3Demo"),
            "error": "refund re_3Demo is recorded on payment #881, not on payment #880.",
        },
    )
