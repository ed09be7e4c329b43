"""What a doctor may do to a visit right now: one rule, read by the service that enforces it
(appointments.services) and by the portal pages that offer the buttons, so a page never offers an
action the server would refuse."""

from __future__ import annotations

import datetime as dt

from django.db import models

from appointments.models import AppointmentStatus
from hospital import timefmt

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


def _from(moment: dt.datetime, *, zone: str, now: dt.datetime) -> str:
    """'09:45 BST (Europe/London)', with the day named when it is not today on the doctor's clock."""
    clock = f"{timefmt.format_clock(moment, zone)} ({zone})"
    at = timefmt.local(moment, zone)
    if at.date() == timefmt.local(now, zone).date():
        return clock
    return f"{at:%a} {at.day} {at:%b}, {clock}"


# What stops every action once a visit has reached these; the doctor's own words.
_SETTLED = {
    AppointmentStatus.COMPLETED: "This visit is already completed.",
    AppointmentStatus.NO_SHOW: "This visit is already marked as a no-show.",
    AppointmentStatus.CANCELED: "This appointment was canceled.",
    AppointmentStatus.EXPIRED: "This booking lapsed before it was paid; there is no visit.",
    AppointmentStatus.PENDING_PAYMENT: "This booking is still awaiting payment; it is not a confirmed visit yet.",
}


def doctor_action_refusal(
    *, action: DoctorAction, status: str, starts_at: dt.datetime, is_paid: bool, now: dt.datetime, zone: str
) -> str:
    """Why `action` is not open now (`doctor_actions` says whether it is), in plain words for the
    doctor; times on their clock (`zone`), named. Empty when the action is open."""
    if action in doctor_actions(status=status, starts_at=starts_at, is_paid=is_paid, now=now):
        return ""
    if status in _SETTLED:
        return _SETTLED[status]
    if status == AppointmentStatus.IN_PROGRESS:
        if action == DoctorAction.START:
            return "This visit has already started."
        return "This visit has already started: the patient came, so it cannot be a no-show."
    # Confirmed, not under way yet.
    if action == DoctorAction.COMPLETE:
        return "This visit has not started yet. Start it first."
    if action == DoctorAction.NO_SHOW:
        return f"You can mark a no-show once the visit's time has come, from {_from(starts_at, zone=zone, now=now)}."
    if not is_paid:
        return "This visit is not paid, so it cannot start. It can start once the payment has gone through."
    return f"You can start this visit from {_from(starts_at - START_OPENS_BEFORE, zone=zone, now=now)}."
