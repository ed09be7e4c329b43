import datetime as dt

from django import forms

from payments.dashboard import MAX_RANGE_MONTHS, default_range, months_between


def _day_field(label: str) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class DashboardFilterForm(forms.Form):
    """The money dashboard's range (days on the hospital's clock, both included) and doctor. With
    nothing asked for, the last 12 months of every doctor."""

    start = _day_field("From")
    end = _day_field("To")
    doctor = forms.TypedChoiceField(label="Doctor", coerce=int, required=False, empty_value=None)

    def __init__(self, query, *, doctors: list[tuple[int, str]], today: dt.date):
        if not any(name in query for name in ("start", "end", "doctor")):
            start, end = default_range(today=today)
            query = {"start": start.isoformat(), "end": end.isoformat()}
        super().__init__(query)
        self.fields["doctor"].choices = [("", "All doctors"), *doctors]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError("“From” must be on or before “To”.")
            if len(months_between(start, end)) > MAX_RANGE_MONTHS:
                raise forms.ValidationError(f"Choose at most {MAX_RANGE_MONTHS} months.")
        return cleaned
