"""The appointment's lock, second in the order documented in hospital/locks.py."""

from __future__ import annotations

from appointments.models import Appointment
from hospital.locks import RowBusy, lock_one, lock_slot, lock_slot_without_waiting
from hospital.models import Slot


class AppointmentBusy(RowBusy):
    """The appointment moved to another slot while we queued for its old one, and someone holds
    the new slot: try again (the caller's transaction must end first)."""


def lock_appointment(appointment_id: int) -> Appointment:
    """Lock an appointment's slot, then the appointment."""
    appointment, _ = lock_appointment_and_slot(appointment_id, None)
    return appointment


def lock_appointment_and_slot(appointment_id: int, other_slot_id: int | None) -> tuple[Appointment, Slot | None]:
    """Lock the appointment's slot and `other_slot_id` (the slot it is to move to) in primary-key
    order, then the appointment; returns the appointment (its `slot` the locked one) and the other slot.

    The slot id is read before any lock, so a move committed while we waited may have repointed
    the appointment: the locked row tells. Its new slot is then locked only if it is free to take
    at once; waiting for it, after the appointment, could deadlock with a second move that holds
    it and waits for the appointment. That race is rare and the caller is told to retry.
    """
    slot_id = Appointment.objects.values_list("slot_id", flat=True).get(pk=appointment_id)
    slots = {pk: lock_slot(pk) for pk in sorted({slot_id, other_slot_id} - {None})}
    # The patient (and profile: their clock) in the same query: what is done under the lock names
    # them in log lines and e-mails, and each lazy load would be a query of its own.
    appointment = lock_one(Appointment.objects.select_related("patient__patient_profile"), pk=appointment_id)
    if appointment.slot_id not in slots:
        moved_to = lock_slot_without_waiting(appointment.slot_id)
        if moved_to is None:
            raise AppointmentBusy("This appointment was changed a moment ago. Please try again.")
        slots[moved_to.pk] = moved_to
    appointment.slot = slots[appointment.slot_id]
    if appointment.doctor_id == appointment.slot.doctor_id:
        appointment.doctor = appointment.slot.doctor  # the locked slot brought it, with its user
    return appointment, slots.get(other_slot_id)
