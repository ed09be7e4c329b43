"""How a payment's status reads to the patient.

A dispute is between the patient and their card issuer, and its states are for staff. While it
is open the money is still the hospital's and the patient knows they raised it, so the payment
reads "Paid"; a lost dispute gave the money back to the patient, so it reads "Refunded".
"""

from payments.models import PaymentStatus

_AS_THE_PATIENT_SEES_IT = {
    PaymentStatus.DISPUTED: PaymentStatus.PAID,
    PaymentStatus.DISPUTE_LOST: PaymentStatus.REFUNDED,
}

# What a patient may filter their payments by, in the order of PaymentStatus.
PATIENT_PAYMENT_STATUSES = [status for status in PaymentStatus if status not in _AS_THE_PATIENT_SEES_IT]


def payment_status_for_patient(status: str) -> PaymentStatus:
    return _AS_THE_PATIENT_SEES_IT.get(status, PaymentStatus(status))


def payment_statuses_shown_as(status: str) -> list[str]:
    """The stored statuses a patient reads as `status`: what their filter for it must match."""
    return [stored.value for stored in PaymentStatus if payment_status_for_patient(stored) == status]
