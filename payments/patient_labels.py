"""How a payment's status, and a refund that did not go through, read to the patient.

A dispute is between the patient and their card issuer, and its states are for staff. While it
is open the money is still the hospital's and the patient knows they raised it, so the payment
reads "Paid"; a lost dispute gave the money back to the patient, so it reads "Refunded".
"""

from payments.models import PaymentStatus, Refund, RefundFollowUp, RefundStatus

_AS_THE_PATIENT_SEES_IT = {
    PaymentStatus.DISPUTED: PaymentStatus.PAID,
    PaymentStatus.DISPUTE_LOST: PaymentStatus.REFUNDED,
}

# What a patient may filter their payments by, in the order of PaymentStatus.
PATIENT_PAYMENT_STATUSES = [status for status in PaymentStatus if status not in _AS_THE_PATIENT_SEES_IT]


def payment_status_for_patient(status: str) -> PaymentStatus:
    return _AS_THE_PATIENT_SEES_IT.get(status, PaymentStatus(status))


def payment_status_seen_by(status: str, user) -> PaymentStatus:
    """A stored payment status as `user` reads it: the patient's words for a patient, the stored
    status (disputes included) for staff."""
    return payment_status_for_patient(status) if user.is_patient else PaymentStatus(status)


def payment_statuses_shown_as(status: str) -> list[str]:
    """The stored statuses a patient reads as `status`: what their filter for it must match."""
    return [stored.value for stored in PaymentStatus if payment_status_for_patient(stored) == status]


# Stripe's refund failure reasons in plain words; Stripe's own text stays for staff.
_REFUND_FAILED_BECAUSE = {
    "lost_or_stolen_card": "the card was reported lost or stolen",
    "expired_or_canceled_card": "the card has expired or was canceled",
    "charge_for_pending_refund_disputed": "the payment is disputed with your card issuer",
    "declined": "your bank declined it",
}
_AFTER_A_FAILED_REFUND = {
    RefundFollowUp.REISSUED: ", so we sent it again.",
    RefundFollowUp.NEEDS_STAFF: ". Our staff will contact you to return the money another way.",
    RefundFollowUp.SETTLED: ". Our staff have arranged another way to return the money.",
}


def refund_failure_in_words(refund: Refund) -> str:
    if refund.status == RefundStatus.CANCELED:
        return "it was canceled"
    return _REFUND_FAILED_BECAUSE.get(refund.failure_reason, "it could not be completed")


def refund_note_for_patient(refund: Refund) -> str:
    """What became of a refund that did not go through; empty for one that did or is on its way."""
    if refund.status not in Refund.DID_NOT_GO_THROUGH_STATUSES:
        return ""
    ending = _AFTER_A_FAILED_REFUND.get(refund.follow_up, ".")
    return f"This refund did not go through because {refund_failure_in_words(refund)}{ending}"
