"""The appointment's lock, second in the order documented in hospital/locks.py."""

from appointments.models import Appointment
from hospital.locks import lock_one, lock_slot


def lock_appointment(appointment_id: int) -> Appointment:
    """Lock an appointment's slot, then the appointment."""
    slot_id = Appointment.objects.values_list("slot_id", flat=True).get(pk=appointment_id)
    slot = lock_slot(slot_id)
    appointment = lock_one(Appointment.objects.all(), pk=appointment_id)
    appointment.slot = slot
    return appointment
