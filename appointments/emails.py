"""The e-mails appointments decides to send a patient: what each one says and the fact it is
sent once for (its outbox key). Callers queue them inside the transaction that decided them."""

from __future__ import annotations

from appointments import visit_place
from appointments.models import Appointment
from hospital import timefmt
from hospital.notifications import email_queue


def visit_headline(appointment: Appointment) -> str:
    """'Dr Aiko Tanaka, Wed 02 Dec 10:00 JST': a subject line names the visit by doctor and time
    (on the doctor's clock), never by its reason."""
    starts = timefmt.local(appointment.slot.starts_at, appointment.doctor.timezone)
    return f"{appointment.doctor.display_name}, {starts:%a %d %b %H:%M} {starts.tzname()}"


def hold_expired_email_queue(appointment: Appointment) -> None:
    email_queue(
        key=f"hold-expired:{appointment.pk}",
        to=appointment.patient.email,
        subject=f"Your hold has ended: {visit_headline(appointment)}",
        template="appointments/email/hold_expired.txt",
        context={"appointment": appointment},
    )


def reminder_key(appointment: Appointment) -> str:
    """Once per visit and slot: a visit moved after its reminder was sent is reminded of its new time."""
    return f"appointment-reminder:{appointment.pk}:{appointment.slot_id}"


def reminder_email_queue(appointment: Appointment) -> None:
    where, where_note = visit_place.place_words(appointment)
    email_queue(
        key=reminder_key(appointment),
        to=appointment.patient.email,
        subject=f"Reminder: {visit_headline(appointment)}",
        template="appointments/email/reminder.txt",
        context={"appointment": appointment, "where": where, "where_note": where_note},
    )
