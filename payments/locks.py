"""The payment's lock, third in the order documented in hospital/locks.py."""

from appointments.locks import lock_appointment
from appointments.models import Appointment
from hospital.locks import lock_one
from payments.models import Payment


def lock_payment(appointment_id: int) -> tuple[Appointment, Payment]:
    """Lock the slot, the appointment and its payment, in that order."""
    appointment = lock_appointment(appointment_id)
    payment = lock_one(Payment.objects.all(), appointment_id=appointment_id)
    payment.appointment = appointment
    return appointment, payment
