import datetime as dt
import re

from django import forms
from django.forms import BaseFormSet, formset_factory

from prescriptions.models import (
    ITEM_FIELDS,
    VERIFICATION_ALPHABET,
    VERIFICATION_CODE_LENGTH,
    Prescription,
    PrescriptionItem,
    Route,
)
from prescriptions.rules import earliest_follow_up
from prescriptions.services import MAX_ITEMS

NO_ITEMS = "Add at least one medicine: fill in the first row."

# How many empty medicine rows a new prescription starts with.
STARTING_ROWS = 3


class PrescriptionForm(forms.Form):
    general_advice = forms.CharField(
        label="General advice",
        required=False,
        max_length=Prescription._meta.get_field("general_advice").max_length,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Printed for the patient: rest, fluids, what to watch for, when to seek help.",
    )
    follow_up_on = forms.DateField(
        label="Follow-up date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, zone: str, now: dt.datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.earliest_follow_up = earliest_follow_up(zone=zone, now=now)
        field = self.fields["follow_up_on"]
        field.widget.attrs["min"] = self.earliest_follow_up.isoformat()
        field.help_text = f"Today or later, on your calendar ({zone})."

    def clean_follow_up_on(self):
        chosen = self.cleaned_data["follow_up_on"]
        if chosen and chosen < self.earliest_follow_up:
            earliest = self.earliest_follow_up
            raise forms.ValidationError(
                f"The follow-up date is in the past. Choose today ({earliest.day} {earliest:%B %Y}) or a later day."
            )
        return chosen


def _text(label: str, name: str, example: str, *, required: bool = True) -> forms.CharField:
    """The item's `name` column as a text box, as long as the column holds."""
    return forms.CharField(
        label=label,
        max_length=PrescriptionItem._meta.get_field(name).max_length,
        required=required,
        widget=forms.TextInput(attrs={"placeholder": example}),
    )


class PrescriptionItemForm(forms.Form):
    """One medicine. The form's rows are all optional (a row left empty is skipped); a row with
    anything in it needs its medicine, dose, route, frequency, duration and quantity."""

    medicine = _text("Medicine", "medicine", "e.g. Amoxicillin")
    strength = _text("Strength", "strength", "e.g. 500 mg", required=False)
    dose = _text("Dose", "dose", "e.g. 1 capsule")
    # Pre-chosen, so an untouched row still reads as empty.
    route = forms.ChoiceField(label="Route", choices=Route.choices, initial=Route.ORAL)
    frequency = _text("How often", "frequency", "e.g. 3 times a day")
    duration = _text("For how long", "duration", "e.g. 7 days")
    quantity = forms.IntegerField(
        label="Quantity",
        min_value=1,
        max_value=9999,
        widget=forms.NumberInput(attrs={"placeholder": "e.g. 21", "inputmode": "numeric"}),
    )
    instructions = _text("Instructions", "instructions", "e.g. after food", required=False)


class BasePrescriptionItemFormSet(BaseFormSet):
    def get_form_kwargs(self, index):
        # Every row may stay empty, the first ones too: a doctor fills in as many as they need.
        return {**super().get_form_kwargs(index), "empty_permitted": True}

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if not self.filled_items:
            raise forms.ValidationError(NO_ITEMS)

    @property
    def filled_items(self) -> list[dict]:
        return [form.cleaned_data for form in self.forms if form.cleaned_data]


PrescriptionItemFormSet = formset_factory(
    PrescriptionItemForm,
    formset=BasePrescriptionItemFormSet,
    extra=0,
    max_num=MAX_ITEMS,
    absolute_max=MAX_ITEMS,
    validate_max=True,
)
ITEMS_PREFIX = "items"


def item_rows_as_typed(data, *, add_one: bool) -> list[dict]:
    """The rows as the doctor typed them (raw text, valid or not), to show again unbound after
    "Add another item": no error is shown for a form nobody has submitted yet."""
    bound = PrescriptionItemFormSet(data, prefix=ITEMS_PREFIX)
    count = bound.total_form_count()
    rows = [{name: data.get(f"{ITEMS_PREFIX}-{index}-{name}", "") for name in ITEM_FIELDS} for index in range(count)]
    if add_one and count < MAX_ITEMS:
        rows.append({})
    return rows


# A printed number: "RX-2026-000123".
_NUMBER = re.compile(r"RX-\d{4}-\d{6,}")
# Crockford's base 32 reads I and L as 1 and O as 0: a code copied by hand still matches.
_CODE_READINGS = str.maketrans({"I": "1", "L": "1", "O": "0"})


class VerifyForm(forms.Form):
    number = forms.CharField(
        label="Prescription number",
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": "RX-2026-000123", "autocomplete": "off", "spellcheck": "false"}),
        help_text="As printed at the top of the prescription.",
    )
    code = forms.CharField(
        label="Verification code",
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": "XXXX-XXXX-XXXX", "autocomplete": "off", "spellcheck": "false"}),
        help_text="Twelve letters and digits, printed beside the number.",
    )

    def clean_number(self):
        number = "".join(self.cleaned_data["number"].split()).upper()
        if not _NUMBER.fullmatch(number):
            raise forms.ValidationError("Enter the number as printed, for example RX-2026-000123.")
        return number

    def clean_code(self):
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"]).upper().translate(_CODE_READINGS)
        if len(code) != VERIFICATION_CODE_LENGTH or any(char not in VERIFICATION_ALPHABET for char in code):
            raise forms.ValidationError("Enter the twelve-character code as printed, for example 7KQ2-M9XD-4HTR.")
        return code
