"""When a prescription may be written: one rule, read by the service that enforces it
(prescriptions.services) and by the pages that offer the "Write prescription" link, so a page
never offers what the server would refuse."""

from __future__ import annotations

import datetime as dt

from accounts.models import Role, User
from appointments.models import Appointment, AppointmentStatus
from hospital import timefmt


def issue_refusal(*, appointment: Appointment, doctor_user: User, is_paid: bool) -> str:
    """Why `doctor_user` may not write a prescription for this visit, in words for them; "" if
    they may."""
    if doctor_user.role != Role.DOCTOR or appointment.doctor.user_id != doctor_user.pk:
        return "Only the visit's own doctor can write a prescription for it."
    if appointment.status != AppointmentStatus.COMPLETED:
        status = AppointmentStatus(appointment.status).label.lower()
        return f"A prescription can be written once the visit is completed; this visit is {status}."
    if not is_paid:
        return "A prescription can be written only for a paid visit, and this visit's payment is not complete."
    return ""


def earliest_follow_up(*, zone: str, now: dt.datetime) -> dt.date:
    """Today on the doctor's clock: a follow-up date before it is in the past for them."""
    return timefmt.local(now, zone).date()
