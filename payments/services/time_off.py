"""A doctor's time off over confirmed visits, resolved in the same step: each visit canceled and
refunded in full with the doctor's reason, or each moved to the doctor's earliest free time after
the time off. One transaction: if any visit cannot be moved, nothing changes."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from appointments.services import BookingError, appointment_move
from hospital import services as schedule
from hospital import timefmt
from hospital.models import Doctor, Slot, TimeOff
from payments.selectors import time_off_appointments, visit_words
from payments.services.cancellation import appointment_cancel
from payments.services.reschedule import appointment_moved_tell

S = AppointmentStatus


class TimeOffResolution(models.TextChoices):
    CANCEL = "cancel", "Cancel these visits and refund the patients in full"
    MOVE = "move", "Move each visit to my earliest free time after the time off"


class VisitsInTimeOff(ValidationError):
    """Confirmed visits fall in the time off and no resolution was chosen: the page asks which.
    `visits` names each one ("Mon 7 Dec 2026 09:00 GMT (Europe/London): Ann Lee")."""

    def __init__(self, visits: list[str]):
        super().__init__("This time off covers confirmed visits. Choose what happens to them.")
        self.visits = visits


def time_off_add_over_visits(
    *,
    doctor: Doctor,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
    resolution: str = "",
    note: str = "",
    now: dt.datetime | None = None,
) -> TimeOff:
    """Time off for the doctor; confirmed visits in it canceled or moved by `resolution` (one of
    TimeOffResolution), the patients told why in `note`. Without a resolution, confirmed visits
    raise VisitsInTimeOff. Refused (ValidationError, nothing changed) over a visit under way or
    done, and over a hold a patient is paying for now: its money may still arrive, and refusing
    is clearer than a payment turning into a refund behind the patient's back."""
    now = now or timezone.now()
    note = note.strip()
    with transaction.atomic():
        schedule.time_off_span_lock(doctor=doctor, starts_at=starts_at, ends_at=ends_at)
        in_span = time_off_appointments(doctor_id=doctor.pk, starts_at=starts_at, ends_at=ends_at, now=now)
        holds = [visit for visit in in_span if visit.status == S.PENDING_PAYMENT]
        if holds:
            zone = doctor.timezone
            raise ValidationError(
                [
                    "A patient is paying for a visit in this time right now. Try again once their hold ends:",
                    *(
                        f"{visit_words(hold)}, held until {timefmt.format_clock(hold.hold_expires_at, zone)}"
                        for hold in holds
                    ),
                ]
            )
        confirmed = [visit for visit in in_span if visit.status == S.CONFIRMED]
        if len(confirmed) < len(in_span):  # under way, completed or missed: the time has been worked
            schedule.time_off_validate(doctor=doctor, starts_at=starts_at, ends_at=ends_at)
        if confirmed and resolution not in TimeOffResolution.values:
            raise VisitsInTimeOff([visit_words(visit) for visit in confirmed])
        if confirmed and not note:
            raise ValidationError("Please write a message for the patients: they read it in their e-mail.")
        if confirmed and resolution == TimeOffResolution.CANCEL:
            for visit in confirmed:
                appointment_cancel(appointment_id=visit.pk, by=doctor.user, note=note, now=now)
        elif confirmed:
            _move_all(confirmed, after=ends_at, note=note, now=now)
        return schedule.time_off_add(doctor=doctor, starts_at=starts_at, ends_at=ends_at, reason=reason)


def _move_all(visits: list[Appointment], *, after: dt.datetime, note: str, now: dt.datetime) -> None:
    """Each visit, soonest first, to the doctor's earliest free slot from `after`; a slot taken
    meanwhile is passed over. Raises naming every visit that found no slot."""
    doctor = visits[0].doctor
    free = iter(
        Slot.objects.bookable(now=now)
        .filter(doctor=doctor, starts_at__gte=after)
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)
    )
    unmoved = []
    for visit in visits:
        for slot_id in free:
            try:
                appointment, old_slot = appointment_move(
                    appointment_id=visit.pk,
                    slot_id=slot_id,
                    message="The doctor moved the appointment from {old} to {new}: they are away then.",
                    now=now,
                )
            except BookingError:
                continue  # booked by someone a moment ago: the next free slot
            appointment_moved_tell(appointment=appointment, old_slot=old_slot, why=note, now=now)
            break
        else:
            unmoved.append(visit)
    if unmoved:
        raise ValidationError(
            [
                "Nothing was changed: there are not enough free times after this time off to move these visits to:",
                *(visit_words(visit) for visit in unmoved),
            ]
        )
