"""The payments app's locks, in the order documented in hospital/locks.py."""

from appointments.locks import lock_appointment
from appointments.models import Appointment
from hospital.locks import lock_one
from payments.models import Payment, PaymentIntentLock


def lock_payment_intent(payment_intent_id: str) -> None:
    """Lock one Stripe payment intent, before anything else (hospital/locks.py).

    Recording a capture and recording a refund both take it, so a refund told while its payment's
    capture is being recorded waits and then finds that payment, or is found by it. The row is
    made on first use; a concurrent insert of the same id waits for the first to commit.
    """
    PaymentIntentLock.objects.bulk_create(
        [PaymentIntentLock(payment_intent_id=payment_intent_id)], ignore_conflicts=True
    )
    lock_one(PaymentIntentLock.objects.all(), payment_intent_id=payment_intent_id)


def lock_payment(appointment_id: int) -> tuple[Appointment, Payment]:
    """Lock the slot, the appointment and its payment, in that order."""
    appointment = lock_appointment(appointment_id)
    payment = lock_one(Payment.objects.all(), appointment_id=appointment_id)
    payment.appointment = appointment
    return appointment, payment
