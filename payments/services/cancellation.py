"""Canceling a confirmed appointment and the refund it gives (DESIGN section 4's table).

The patient gets back what the policy copied onto the payment at booking says, counted from the
refund clock (the original start, which rescheduling does not move); a doctor or the hospital
canceling gives everything back, and the patient is told why. The refund is a row written in the
same transaction and issued after commit by the refund worker.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from appointments.models import CANCEL_PERMISSION, AppointmentStatus, CancelReason
from appointments.services import AppointmentTransitionError, BookingError, appointment_transition
from hospital.notifications import email_queue
from payments.locks import lock_payment
from payments.models import RefundReason
from payments.selectors import CancellationQuote, cancellation_quote
from payments.services.refunds import refund_request

S = AppointmentStatus

_BY_ROLE = {
    Role.PATIENT: (CancelReason.PATIENT, RefundReason.PATIENT_CANCELED),
    Role.DOCTOR: (CancelReason.DOCTOR, RefundReason.DOCTOR_CANCELED),
    Role.STAFF: (CancelReason.STAFF, RefundReason.STAFF_CANCELED),
}


class CancelRefused(BookingError):
    """This person may not cancel this appointment now; the message says why, for them."""


def appointment_cancel(
    *, appointment_id: int, by: User, note: str = "", now: dt.datetime | None = None
) -> CancellationQuote:
    """Cancel a confirmed appointment and request its refund; returns what comes back.

    `by` is the patient (their own visit, before its start, refunded by the policy), the visit's
    doctor or staff (in full, with `note` telling the patient why)."""
    now = now or timezone.now()
    note = note.strip()
    with transaction.atomic():
        appointment, payment = lock_payment(appointment_id)
        _may_cancel(appointment, by=by, note=note, now=now)
        quote = cancellation_quote(appointment=appointment, payment=payment, by=by, now=now)
        cancel_reason, refund_reason = _BY_ROLE[by.role]
        appointment_transition(
            appointment=appointment,
            to=S.CANCELED,
            message=_timeline_line(by, quote),
            cancel_reason=cancel_reason,
            now=now,
        )
        appointment.cancel_note = note[:300]
        appointment.save(update_fields=["cancel_note", "updated_at"])
        refund_request(
            payment=payment,
            payment_intent_id=payment.payment_intent_id,
            amount=quote.amount,
            reason=refund_reason,
            requested_by=by,
            note=note,
        )
        email_queue(
            key=f"appointment-canceled:{appointment.pk}",
            to=appointment.patient.email,
            subject=f"Booking #{appointment.pk} canceled",
            template="payments/email/appointment_canceled.txt",
            context={
                "appointment": appointment,
                "by_patient": by.role == Role.PATIENT,
                "note": appointment.cancel_note,
                "refund": quote.amount_words if quote.amount else "",
            },
        )
    return quote


def _may_cancel(appointment, *, by: User, note: str, now: dt.datetime) -> None:
    if by.role == Role.PATIENT and appointment.patient_id != by.pk:
        raise CancelRefused("This is not your appointment.")
    if by.role == Role.DOCTOR and appointment.doctor.user_id != by.pk:
        raise CancelRefused("Only the visit's own doctor can cancel it.")
    if by.role == Role.STAFF and not by.has_perm(CANCEL_PERMISSION):
        raise CancelRefused("Your staff group may not cancel appointments; front desk or billing can.")
    if appointment.status != S.CONFIRMED:
        raise AppointmentTransitionError(
            f"An appointment that is {appointment.get_status_display().lower()} cannot be canceled."
        )
    if by.role == Role.PATIENT and appointment.slot.starts_at <= now:
        raise CancelRefused("The visit has already started; please contact us.")
    if by.role != Role.PATIENT and not note:
        raise CancelRefused("Please say why, for the patient: they read it in their e-mail.")


def _timeline_line(by: User, quote: CancellationQuote) -> str:
    who = {Role.PATIENT: "You canceled", Role.DOCTOR: "The doctor canceled", Role.STAFF: "The hospital canceled"}
    back = f"{quote.amount_words} is being refunded" if quote.amount else "no refund is due"
    return f"{who[by.role]} the appointment; {back}."
