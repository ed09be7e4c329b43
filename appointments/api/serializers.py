"""An appointment as every API response shows it (patient's and doctor's endpoints alike).

`appointment_data` builds the dict once per row from an appointment loaded with
`API_APPOINTMENT_RELATED`; the serializers only describe it for the schema.
"""

from rest_framework import serializers

from appointments.models import Appointment, AppointmentStatus, CancelReason, VisitType
from hospital.api.fields import Money, ZonedDateTime, in_zone, money

# What `appointment_data` reads: one query for a page of appointments.
API_APPOINTMENT_RELATED = ("doctor__user", "doctor__specialty", "slot", "payment")


class DoctorBrief(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    specialty = serializers.CharField()


class AppointmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AppointmentStatus.choices)
    doctor = DoctorBrief()
    starts_at = ZonedDateTime()
    ends_at = ZonedDateTime()
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which the times above are given.")
    reason = serializers.CharField(allow_blank=True)
    visit_type = serializers.ChoiceField(choices=VisitType.choices)
    fee = Money(
        allow_null=True,
        help_text="The fee agreed at booking. Null for callers who never read amounts (doctors, front desk), "
        "as on the pages.",
    )
    payment_status = serializers.CharField(
        allow_null=True, help_text="As the caller reads it (a patient sees 'refunded' where staff see a dispute)."
    )
    hold_expires_at = ZonedDateTime(allow_null=True, help_text="While unpaid: when the held slot is let go.")
    cancel_reason = serializers.ChoiceField(choices=CancelReason.choices, allow_null=True)


def appointment_data(appointment: Appointment, *, payment_status: str | None, sees_money: bool) -> dict:
    doctor = appointment.doctor
    zone = doctor.timezone
    return {
        "id": appointment.pk,
        "status": appointment.status,
        "doctor": {"id": doctor.pk, "name": doctor.display_name, "specialty": doctor.specialty.name},
        "starts_at": in_zone(appointment.slot.starts_at, zone),
        "ends_at": in_zone(appointment.slot.ends_at, zone),
        "time_zone": zone,
        "reason": appointment.reason,
        "visit_type": appointment.visit_type,
        "fee": money(appointment.fee_amount, appointment.fee_currency) if sees_money else None,
        "payment_status": payment_status,
        "hold_expires_at": in_zone(appointment.hold_expires_at, zone)
        if appointment.status == AppointmentStatus.PENDING_PAYMENT
        else None,
        "cancel_reason": appointment.cancel_reason or None,
    }
