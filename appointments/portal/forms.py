from django import forms

from appointments.forms import reason_for_patients_field
from appointments.models import AppointmentStatus
from appointments.portal.selectors import ORDERINGS
from payments.services import TimeOffResolution

PAYMENT_CHOICES = [("", "Any payment"), ("paid", "Paid"), ("unpaid", "Not paid")]
SORT_LABELS = {"soonest": "Soonest first", "latest": "Latest first", "patient": "Patient's name"}


class AppointmentListForm(forms.Form):
    """The doctor's list filters, bound to the query string: a bad value is shown as an error
    beside its field, and the valid filters still apply."""

    # The tab, not a filter anyone types: anything but "past" is the upcoming tab.
    when = forms.CharField(required=False)
    status = forms.ChoiceField(label="Status", choices=[("", "Any status"), *AppointmentStatus.choices], required=False)
    payment = forms.ChoiceField(label="Payment", choices=PAYMENT_CHOICES, required=False)
    from_day = forms.DateField(label="From", required=False)
    to_day = forms.DateField(label="To", required=False)
    patient = forms.CharField(label="Patient's name", required=False, max_length=100)
    sort = forms.ChoiceField(label="Sort", choices=[(key, SORT_LABELS[key]) for key in ORDERINGS], required=False)

    def clean_when(self) -> str:
        return "past" if self.cleaned_data["when"] == "past" else "upcoming"

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("from_day"), cleaned.get("to_day")
        if first and last and last < first:
            self.add_error("to_day", "The last day must be on or after the first.")
        return cleaned

    @property
    def filters(self) -> dict:
        """The valid filters, whatever else was typed (`is_valid()` must have run)."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}

    @property
    def paid(self) -> bool | None:
        return {"paid": True, "unpaid": False}.get(self.filters.get("payment", ""))


class TimeOffVisitsForm(forms.Form):
    """Shown beside the time off form when confirmed visits fall in it: what happens to them, and
    the words their patients read."""

    prefix = "visits"

    resolution = forms.ChoiceField(
        label="What should happen to these visits?",
        choices=TimeOffResolution.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether to cancel or to move these visits."},
    )
    note = reason_for_patients_field(
        label="Message to the patients",
        help_text="They read it in their e-mail. No clinical details.",
        required_message="Please write a message for the patients: they read it in their e-mail.",
    )
