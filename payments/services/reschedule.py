"""Moving a paid visit to another time: by the patient inside the policy's window, or by the
doctor's time off. No money moves: the fee, the payment, its policy copy and its refund clock all
stay, so a later cancellation is refunded as if the visit had never moved (or from the new start,
if it moved earlier)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from appointments import ical
from appointments.models import Appointment
from appointments.services import BookingError, appointment_move
from hospital import timefmt
from hospital.models import Slot
from hospital.notifications import email_queue
from payments.models import Payment
from payments.selectors import reschedule_refusal


class RescheduleRefused(BookingError):
    """The patient may not move this visit now; the message says why, for them."""


def appointment_reschedule(
    *, appointment_id: int, slot_id: int, by: User, now: dt.datetime | None = None
) -> Appointment:
    """The patient moves their own confirmed visit to another free slot of the same doctor."""
    now = now or timezone.now()

    def may_move(appointment: Appointment) -> None:
        payment = Payment.objects.get(appointment_id=appointment.pk)
        refusal = reschedule_refusal(appointment=appointment, payment=payment, by=by, now=now)
        if refusal:
            raise RescheduleRefused(refusal)

    with transaction.atomic():
        appointment, old_slot = appointment_move(
            appointment_id=appointment_id,
            slot_id=slot_id,
            message="You moved the appointment from {old} to {new}.",
            now=now,
            may_move=may_move,
        )
        appointment_moved_tell(appointment=appointment, old_slot=old_slot, why="", now=now)
    return appointment


def appointment_moved_tell(*, appointment: Appointment, old_slot: Slot, why: str, now: dt.datetime) -> None:
    """The patient's e-mail with the new time and a new .ics (same UID: their calendar updates
    the event); once per move (the key names the slot it left). `why` is the doctor's reason when
    the move was not the patient's."""
    zone = appointment.doctor.timezone
    email_queue(
        key=f"appointment-moved:{appointment.pk}:{old_slot.pk}:{appointment.slot_id}",
        to=appointment.patient.email,
        subject=f"Booking #{appointment.pk} moved to {timefmt.format_short(appointment.slot.starts_at, zone)}",
        template="payments/email/appointment_moved.txt",
        context={
            "appointment": appointment,
            "doctor": appointment.doctor,
            "starts": appointment.slot.starts_at,
            "old_starts": old_slot.starts_at,
            "why": why,
        },
        attachments=[ical.patient_attachment(appointment, now=now)],
    )
