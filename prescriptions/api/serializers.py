"""A prescription as the API reads and writes it: the write form's fields and rules
(prescriptions.forms), and the values its page and PDF print (prescriptions.selectors)."""

from rest_framework import serializers

from hospital.api.errors import NON_FIELD
from hospital.api.fields import ZonedDateTime, in_zone
from hospital.api.form_fields import from_form
from prescriptions.forms import NO_ITEMS, PrescriptionForm, PrescriptionItemForm, PrescriptionItemFormSet
from prescriptions.models import Route
from prescriptions.selectors import PrescriptionPage, PrescriptionRow

_ITEM = PrescriptionItemForm.base_fields
_PRESCRIPTION = PrescriptionForm.base_fields


class PrescriptionItemIn(serializers.Serializer):
    """One medicine, as a row of the write form: each field required but strength and instructions."""

    # The fields of the page's row (PrescriptionItemForm): their limits, their messages.
    medicine = from_form(_ITEM["medicine"], help_text="e.g. Amoxicillin")
    strength = from_form(_ITEM["strength"])
    dose = from_form(_ITEM["dose"], help_text="e.g. 1 capsule")
    route = from_form(_ITEM["route"], default=_ITEM["route"].initial)
    frequency = from_form(_ITEM["frequency"], help_text="e.g. 3 times a day")
    duration = from_form(_ITEM["duration"], help_text="e.g. 7 days")
    quantity = from_form(_ITEM["quantity"], help_text="How many to dispense.")
    instructions = from_form(_ITEM["instructions"])


class PrescriptionIn(serializers.Serializer):
    items = PrescriptionItemIn(
        many=True,
        allow_empty=False,
        max_length=PrescriptionItemFormSet.max_num,
        error_messages={"empty": NO_ITEMS, "required": NO_ITEMS, "null": NO_ITEMS},
    )
    general_advice = from_form(_PRESCRIPTION["general_advice"])
    follow_up_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Today or later on the doctor's calendar."
    )
    supersedes = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="To correct the visit's current prescription: its id. The new one replaces it.",
    )

    def validate_follow_up_on(self, value):
        """The write form's rule: not before today on the doctor's calendar (`zone` and `now` in
        the context)."""
        if value is None:
            return value
        form = PrescriptionForm({"follow_up_on": value.isoformat()}, zone=self.context["zone"], now=self.context["now"])
        if not form.is_valid():
            raise serializers.ValidationError(form.errors["follow_up_on"])
        return value


def flat_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """A nested serializer's errors as one level, an item's fields named `items.0.quantity`."""
    found: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for name, inner in detail.items():
            key = prefix if name == NON_FIELD and prefix else f"{prefix}.{name}" if prefix else name
            for field, messages in flat_errors(inner, key).items():
                found.setdefault(field, []).extend(messages)
    elif isinstance(detail, list) and all(isinstance(message, str) for message in detail):
        found[prefix or NON_FIELD] = [str(message) for message in detail]
    elif isinstance(detail, list):
        for index, inner in enumerate(detail):
            if inner:
                found.update(flat_errors(inner, f"{prefix}.{index}"))
    else:
        found[prefix or NON_FIELD] = [str(detail)]
    return found


class PersonName(serializers.Serializer):
    name = serializers.CharField()


class PrescriptionListItem(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="As printed: RX-2026-000123.")
    issued_at = ZonedDateTime()
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which `issued_at` is given.")
    doctor = PersonName()
    patient = PersonName()
    item_count = serializers.IntegerField()
    status = serializers.CharField(help_text="current, or superseded once a correction replaced it.")


def prescription_row_data(row: PrescriptionRow) -> dict:
    return {
        "id": row.pk,
        "number": row.number,
        "issued_at": row.issued_iso,
        "time_zone": row.zone,
        "doctor": {"name": row.doctor_name},
        "patient": {"name": row.patient_name},
        "item_count": row.item_count,
        "status": row.status.label.lower(),
    }


class ItemOut(serializers.Serializer):
    position = serializers.IntegerField()
    medicine = serializers.CharField()
    strength = serializers.CharField(allow_blank=True)
    dose = serializers.CharField()
    route = serializers.ChoiceField(choices=Route.choices)
    route_label = serializers.CharField(help_text="As printed: 'By mouth'.")
    frequency = serializers.CharField()
    duration = serializers.CharField()
    quantity = serializers.IntegerField()
    instructions = serializers.CharField(allow_blank=True)


class VisitBrief(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = ZonedDateTime()


class DoctorOnPrescription(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    specialty = serializers.CharField()


class PatientOnPrescription(serializers.Serializer):
    name = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)


class Version(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class PrescriptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    verification_code = serializers.CharField(help_text="As printed, in groups of four: 7KQ2-M9XD-4HTR.")
    status = serializers.CharField(help_text="current, or superseded once a correction replaced it.")
    issued_at = ZonedDateTime()
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which every time here is given.")
    visit = VisitBrief()
    doctor = DoctorOnPrescription()
    patient = PatientOnPrescription()
    items = ItemOut(many=True)
    general_advice = serializers.CharField(allow_blank=True)
    follow_up_on = serializers.DateField(allow_null=True)
    supersedes = Version(allow_null=True, help_text="The prescription this one corrects.")
    superseded_by = Version(allow_null=True, help_text="The correction that replaced this one.")


def prescription_data(shown: PrescriptionPage) -> dict:
    prescription = shown.prescription
    zone = shown.zone
    profile = getattr(prescription.patient, "patient_profile", None)
    items = {item.position: item for item in prescription.items.all()}
    return {
        "id": shown.pk,
        "number": shown.number,
        "verification_code": shown.verification_code,
        "status": shown.status.label.lower(),
        "issued_at": shown.issued_iso,
        "time_zone": zone,
        "visit": {
            "id": prescription.appointment_id,
            "starts_at": in_zone(prescription.appointment.slot.starts_at, zone),
        },
        "doctor": {"id": prescription.doctor_id, "name": shown.doctor_name, "specialty": shown.specialty},
        "patient": {"name": shown.patient_name, "date_of_birth": profile.date_of_birth if profile else None},
        "items": [
            {
                "position": item.position,
                "medicine": item.medicine,
                "strength": item.strength,
                "dose": item.dose,
                "route": items[item.position].route,
                "route_label": item.route,
                "frequency": item.frequency,
                "duration": item.duration,
                "quantity": item.quantity,
                "instructions": item.instructions,
            }
            for item in shown.items
        ],
        "general_advice": shown.general_advice,
        "follow_up_on": prescription.follow_up_on,
        "supersedes": {"id": prescription.supersedes_id, "number": shown.supersedes.number}
        if shown.supersedes
        else None,
        "superseded_by": {"id": prescription.superseded_by.pk, "number": shown.superseded_by.number}
        if shown.superseded_by
        else None,
    }
