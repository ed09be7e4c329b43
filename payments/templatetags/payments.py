from django import template

from payments.models import Payment, PaymentStatus, Refund
from payments.patient_labels import payment_status_seen_by, refund_note_for_patient

register = template.Library()


@register.filter
def status_seen_by(payment: Payment, user) -> PaymentStatus:
    """The payment's status as `user` should read it (payments.patient_labels.payment_status_seen_by)."""
    return payment_status_seen_by(payment.status, user)


@register.filter
def refund_note_for(refund: Refund, user) -> str:
    """Why a refund did not go through and what happens now: plain words for a patient, Stripe's
    reason and the follow-up for staff. Empty for a refund that went through or is on its way."""
    if user.is_patient:
        return refund_note_for_patient(refund)
    parts = [f"Failed: {refund.failure_reason}"] if refund.failure_reason else []
    if refund.follow_up:
        parts.append(refund.get_follow_up_display())
    return " · ".join(parts)
