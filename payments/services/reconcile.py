"""From a payment's money facts to its derived status and to the appointment (DESIGN §4)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from appointments import ical, visit_place
from appointments.emails import visit_headline
from appointments.models import Appointment, AppointmentStatus, CancelReason
from appointments.services import (
    appointment_expire,
    appointment_log,
    appointment_transition,
    slot_expire_lapsed_holds,
    slot_is_bookable,
    slot_is_held_by_other,
)
from hospital.money import format_money
from hospital.money_log import log_money_change
from hospital.notifications import Attachment, email_queue
from payments.models import RECEIPT_ATTACHMENT, Payment, Receipt, RefundReason
from payments.selectors import refundable_amount, refunded_on_payment_intent, visit_policy_lines
from payments.services.common import payment_log_ids, tell_staff
from payments.services.receipts import payment_documents_issue
from payments.services.refunds import refund_request

S = AppointmentStatus


def payment_status_refresh(payment: Payment) -> None:
    """Recompute what the refund rows add up to and the status derived from the facts.

    One query however many refunds the payment has. Only money back on this payment's own
    charge counts: a refund of a duplicate payment gives back other money.
    """
    old = payment.status
    payment.refunded_amount = refunded_on_payment_intent(payment.payment_intent_id) if payment.payment_intent_id else 0
    payment.status = payment.derived_status()
    payment.save(update_fields=["refunded_amount", "status", "updated_at"])
    log_money_change(
        "payment",
        payment.pk,
        old=old,
        new=payment.status,
        **payment_log_ids(payment),
        captured_amount=payment.captured_amount,
        refunded_amount=payment.refunded_amount,
        currency=payment.currency,
        dispute_status=payment.dispute_status,
    )


def reconcile(appointment: Appointment, payment: Payment, *, now: dt.datetime) -> None:
    """Bring a locked appointment in line with its payment's facts (DESIGN section 4)."""
    payment_status_refresh(payment)
    # Before the confirmation, so its e-mail can name (and attach) the receipt.
    payment_documents_issue(payment=payment, now=now)
    if payment.money_received:
        if appointment.status == S.PENDING_PAYMENT and not _slot_started(appointment, now):
            _confirm(appointment, payment, message="Payment received; your appointment is confirmed.", now=now)
        elif appointment.status in (S.PENDING_PAYMENT, S.EXPIRED) or (
            appointment.status == S.CANCELED and appointment.cancel_reason == CancelReason.HOLD_CANCELED
        ):
            _late_payment(appointment, payment, now=now)
        elif appointment.status == S.CANCELED and appointment.cancel_reason == CancelReason.REFUNDED:
            # The refund that canceled it failed: the money is back with us but the slot may be
            # gone. A person decides (refund again, or rebook); never silently keep it.
            tell_staff(
                key=f"kept-money:{payment.pk}:{payment.refunded_amount}",
                subject=f"Payment #{payment.pk} holds money for a canceled appointment",
                template="payments/email/money_without_booking.txt",
                context={
                    "payment": payment,
                    "amount": format_money(payment.captured_amount - payment.refunded_amount, payment.currency),
                },
            )
    elif payment.fully_refunded and appointment.status in (S.PENDING_PAYMENT, S.CONFIRMED):
        appointment_transition(
            appointment=appointment,
            to=S.CANCELED,
            message="The payment was refunded in full, so the appointment is canceled.",
            cancel_reason=CancelReason.REFUNDED,
            now=now,
        )
        email_queue(
            key=f"appointment-canceled-refunded:{appointment.pk}",
            to=appointment.patient.email,
            subject=f"Booking #{appointment.pk} canceled: your payment was refunded",
            template="payments/email/canceled_refunded.txt",
            context={"appointment": appointment, "amount": format_money(payment.captured_amount, payment.currency)},
        )


def _slot_started(appointment: Appointment, now: dt.datetime) -> bool:
    return appointment.slot.starts_at <= now


def _late_payment(appointment: Appointment, payment: Payment, *, now: dt.datetime) -> None:
    """Money arrived after the hold ended, or after the visit's start for a booking still waiting
    for it. Never keep money without a booking: confirm if the slot is still free and still
    ahead, otherwise refund in full."""
    if payment.refunds.filter(reason=RefundReason.LATE_PAYMENT).exists():
        return  # already decided: it is being refunded
    slot = appointment.slot  # locked by lock_payment
    started = _slot_started(appointment, now)
    if not started:
        slot_expire_lapsed_holds(slot=slot, now=now)
        if slot_is_bookable(slot=slot, now=now) and not slot_is_held_by_other(appointment=appointment, now=now):
            _confirm(
                appointment,
                payment,
                message="Your payment arrived after the hold ended; the slot was still free, so it is confirmed.",
                now=now,
            )
            return
    elif appointment.status == S.PENDING_PAYMENT:
        # Its hold never reached this far (holds end by the start): end it as the lapse would have.
        # The patient's e-mail is the refund's, below: theirs is money on its way back, not a lapsed hold.
        appointment_expire(
            appointment=appointment, message="The visit's start came before the payment.", now=now, tell_patient=False
        )
    refund = refund_request(
        payment=payment,
        payment_intent_id=payment.payment_intent_id,
        # What is left, counting refunds still waiting to be issued: never more (refund_guards.py).
        amount=refundable_amount(payment),
        reason=RefundReason.LATE_PAYMENT,
    )
    if refund is not None:
        appointment_log(
            appointment=appointment,
            message=(
                "Your payment arrived after the appointment's start time; it is being refunded in full."
                if started
                else "Your payment arrived after the slot was taken; it is being refunded in full."
            ),
            now=now,
        )
        email_queue(
            key=f"late-payment-refund:{appointment.pk}",
            to=appointment.patient.email,
            subject="Your payment is being refunded",
            template=(
                "payments/email/started_payment_refund.txt" if started else "payments/email/late_payment_refund.txt"
            ),
            context={"appointment": appointment, "amount": format_money(refund.amount, refund.currency)},
        )


def _confirm(appointment: Appointment, payment: Payment, *, message: str, now: dt.datetime) -> None:
    appointment_transition(appointment=appointment, to=S.CONFIRMED, message=message, now=now)
    doctor = appointment.doctor
    where, where_note = visit_place.place_words(appointment)
    email_queue(
        key=f"appointment-confirmed:{appointment.pk}",
        to=appointment.patient.email,
        subject=f"Appointment confirmed: {visit_headline(appointment)}",
        template="appointments/email/confirmed.txt",
        context={
            "appointment": appointment,
            "doctor": doctor,
            "starts": timezone.localtime(appointment.slot.starts_at, doctor.zone),
            "where": where,
            "where_note": where_note,
            "amount": format_money(payment.captured_amount, payment.currency),
            "policy_lines": visit_policy_lines(appointment=appointment, payment=payment, now=now),
        },
        attachments=[ical.patient_attachment(appointment, now=now), *_receipt_attachment(payment)],
    )


def _receipt_attachment(payment: Payment) -> list[Attachment]:
    """The receipt's PDF, made by the e-mail worker (never inside this transaction): reconcile has
    issued the receipt just before confirming."""
    # receipt_issue has just set payment.receipt (no query); a payment never issued one reads it.
    receipt = payment.receipt if Payment.receipt.is_cached(payment) else Receipt.objects.filter(payment=payment).first()
    if receipt is None:
        return []
    return [Attachment.rendered(RECEIPT_ATTACHMENT, receipt.pk, filename=f"{receipt.display_number}.pdf")]
