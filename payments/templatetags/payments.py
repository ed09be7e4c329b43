from django import template

from payments.models import Payment, PaymentStatus
from payments.patient_labels import payment_status_for_patient

register = template.Library()


@register.filter
def status_seen_by(payment: Payment, user) -> PaymentStatus:
    """The payment's status as `user` should read it: the patient's words for a patient, the
    stored status (disputes included) for staff."""
    return payment_status_for_patient(payment.status) if user.is_patient else PaymentStatus(payment.status)
