"""What a doctor may do to a visit right now: one rule, read by the service that enforces it
(appointments.services) and by the portal pages that offer the buttons, so a page never offers an
action the server would refuse."""

from __future__ import annotations

import datetime as dt

from django.db import models

from appointments.models import AppointmentStatus

# A doctor may open a paid visit a little early, when the patient is already in the room.
START_OPENS_BEFORE = dt.timedelta(minutes=15)


class DoctorAction(models.TextChoices):
    START = "start", "Start visit"
    COMPLETE = "complete", "Complete visit"
    NO_SHOW = "no_show", "Mark as no-show"


def doctor_actions(*, status: str, starts_at: dt.datetime, is_paid: bool, now: dt.datetime) -> tuple[DoctorAction, ...]:
    """The lifecycle actions open to the appointment's own doctor, in the order a page shows them."""
    if status == AppointmentStatus.CONFIRMED:
        actions = []
        if is_paid and now >= starts_at - START_OPENS_BEFORE:
            actions.append(DoctorAction.START)
        if now >= starts_at:
            actions.append(DoctorAction.NO_SHOW)
        return tuple(actions)
    if status == AppointmentStatus.IN_PROGRESS:
        return (DoctorAction.COMPLETE,)
    return ()
