"""Demo data for the admin's e-mail previews (hospital.email_previews): unsaved objects only.

A Tokyo doctor's visit for a patient in New York, so each preview shows the doctor's clock with
the patient's own beside it, as the real e-mails do.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from accounts.models import PatientProfile, Role, User
from appointments import emails, visit_place
from appointments.models import Appointment, AppointmentStatus
from hospital import timefmt
from hospital.email_previews import register_preview
from hospital.models import Doctor, Slot, Specialty, VisitType

DEMO_DOCTOR_ZONE = "Asia/Tokyo"
DEMO_PATIENT_ZONE = "America/New_York"


def demo_appointment(*, status: str = AppointmentStatus.CONFIRMED) -> Appointment:
    """Booking #1042 with Dr Aiko Tanaka, 10:00 Tokyo time two days from now (never saved)."""
    zone = zoneinfo.ZoneInfo(DEMO_DOCTOR_ZONE)
    day = timezone.now().astimezone(zone).date() + dt.timedelta(days=2)
    starts_at = dt.datetime.combine(day, dt.time(10), tzinfo=zone).astimezone(dt.UTC)
    doctor = Doctor(
        pk=7,
        user=User(first_name="Aiko", last_name="Tanaka", email="aiko.tanaka@hospital.test", role=Role.DOCTOR),
        specialty=Specialty(name="Cardiology", slug="cardiology"),
        timezone=DEMO_DOCTOR_ZONE,
        visit_type=VisitType.IN_PERSON,
        site="Sakura Clinic, 2-1 Marunouchi, Chiyoda",
        room="Room 3.02",
    )
    patient = User(pk=31, first_name="Maria", last_name="Lopez", email="maria.lopez@example.com", role=Role.PATIENT)
    patient.patient_profile = PatientProfile(timezone=DEMO_PATIENT_ZONE)
    return Appointment(
        pk=1042,
        patient=patient,
        doctor=doctor,
        slot=Slot(pk=5150, doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30)),
        status=status,
        hold_expires_at=timezone.now() + dt.timedelta(minutes=25),
        fee_amount=5000,
        fee_currency="usd",
        visit_type=VisitType.IN_PERSON,
        location_site=doctor.site,
        location_room=doctor.room,
    )


def _with_place(appointment: Appointment) -> dict:
    where, where_note = visit_place.place_words(appointment)
    return {"appointment": appointment, "where": where, "where_note": where_note}


def _confirmed() -> dict:
    appointment = demo_appointment()
    starts_at, zone = appointment.slot.starts_at, appointment.doctor.timezone
    return {
        **_with_place(appointment),
        "doctor": appointment.doctor,
        "starts": timefmt.local(starts_at, zone),
        "amount": "$50.00",
        "policy_lines": [
            f"Full refund if you cancel before {timefmt.format_when(starts_at - dt.timedelta(hours=24), zone)}.",
            f"Half refund if you cancel before {timefmt.format_when(starts_at - dt.timedelta(hours=2), zone)}.",
            "No refund after that.",
        ],
    }


def register() -> None:
    headline = emails.visit_headline(demo_appointment())
    register_preview(
        template="appointments/email/confirmed.txt",
        title="Booking confirmed",
        audience="Patient",
        subject=f"Appointment confirmed: {headline}",
        context=_confirmed,
    )
    register_preview(
        template="appointments/email/hold_expired.txt",
        title="Hold expired before payment",
        audience="Patient",
        subject=f"Your hold has ended: {headline}",
        context=lambda: {"appointment": demo_appointment(status=AppointmentStatus.EXPIRED)},
    )
    register_preview(
        template="appointments/email/reminder.txt",
        title="Reminder, 24 hours before",
        audience="Patient",
        subject=f"Reminder: {headline}",
        context=lambda: _with_place(demo_appointment()),
    )
