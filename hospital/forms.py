import datetime as dt
from decimal import Decimal

from django import forms

from accounts.timezones import timezone_choices
from hospital import services, timefmt
from hospital.models import Currency, Doctor, TimeOff, Weekday
from hospital.money import TooManyDecimals, decimal_places, to_major_units, to_minor_units


class DirectoryFilterForm(forms.Form):
    """The directory's filters. The specialty menu offers the specialties the page has already
    fetched (`selectors.specialties_with_doctors`): the same list checks the choice and draws it."""

    q = forms.CharField(
        label="Doctor's name",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "e.g. Okafor"}),
    )
    specialty = forms.ChoiceField(
        label="Specialty",
        required=False,
        error_messages={"invalid_choice": "Select a valid choice. That choice is not one of the available choices."},
    )

    def __init__(self, *args, specialties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specialty"].choices = [("", "All specialties"), *((s.slug, s.name) for s in specialties)]


class MajorUnitAmountField(forms.DecimalField):
    """An amount typed and shown in the currency's major unit (90.00 for £90.00, 5000 for ¥5,000),
    while the model stores minor units. It cleans to a Decimal; its form converts it exactly once
    the currency beside it is known, and explains an amount the currency cannot hold."""

    def __init__(self, **kwargs):
        super().__init__(min_value=Decimal(0), **kwargs)

    @staticmethod
    def too_many_decimals_message(currency: str) -> str:
        label = Currency(currency).label
        if decimal_places(currency) == 0:
            return f"{label} amounts are whole numbers (no minor unit), e.g. 5000."
        return f"{label} amounts have at most {decimal_places(currency)} decimal places, e.g. 90.00."


class DoctorForm(forms.ModelForm):
    fee_amount = MajorUnitAmountField(
        label="Consultation fee",
        help_text="In the currency's main unit: 90.00 is £90.00; yen have no minor unit, so 5000 is ¥5,000.",
    )
    timezone = forms.ChoiceField(choices=timezone_choices, help_text="Working hours are read in this zone.")

    class Meta:
        model = Doctor
        fields = [
            "user", "specialty", "bio", "is_active", "fee_currency", "fee_amount", "slot_minutes", "timezone",
            "visit_type", "site", "room",
        ]  # fmt: skip
        widgets = {"visit_type": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.initial.get("fee_amount") is not None:
            self.initial["fee_amount"] = to_major_units(self.initial["fee_amount"], self.initial["fee_currency"])

    def clean(self):
        cleaned = super().clean()
        amount, currency = cleaned.get("fee_amount"), cleaned.get("fee_currency")
        if amount is None:
            return cleaned
        if currency is None:  # the currency's own error is shown; a Decimal must not reach the model
            del cleaned["fee_amount"]
            return cleaned
        try:
            cleaned["fee_amount"] = to_minor_units(amount, currency)
        except TooManyDecimals:
            self.add_error("fee_amount", MajorUnitAmountField.too_many_decimals_message(currency))
        return cleaned


class TimeOffForm(forms.ModelForm):
    """Time off, read in the doctor's zone (the admin activates it); never over a booked visit."""

    class Meta:
        model = TimeOff
        fields = ["doctor", "starts_at", "ends_at", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.doctor_id:
            for name in ("starts_at", "ends_at"):
                self.fields[name].help_text = f"The doctor's local time ({self.instance.doctor.timezone})."

    def clean(self):
        cleaned = super().clean()
        doctor, starts_at, ends_at = (cleaned.get(name) for name in ("doctor", "starts_at", "ends_at"))
        # Only a new or moved span is checked: a reason edited on older time off is no new conflict.
        moved = self.instance._state.adding or {"doctor", "starts_at", "ends_at"} & set(self.changed_data)
        if moved and doctor and starts_at and ends_at and starts_at < ends_at:
            services.time_off_validate(doctor=doctor, starts_at=starts_at, ends_at=ends_at)
        return cleaned


class WorkingHoursAddForm(forms.Form):
    """A weekly window, in the doctor's own local time (the doctor's portal)."""

    weekday = forms.TypedChoiceField(label="Day", choices=Weekday.choices, coerce=int)
    start_time = forms.TimeField(label="From", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label="Until", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "hours_%s")  # its page has the time off form too
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end and end <= start:
            self.add_error("end_time", "The end time must be after the start time.")
        return cleaned


class TimeOffAddForm(forms.Form):
    """Time off typed on the doctor's own clock: whole days unless times are given. Cleans to
    `starts_at` and `ends_at` in UTC."""

    first_day = forms.DateField(label="First day", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start_time = forms.TimeField(
        label="From",
        required=False,
        help_text="Leave empty to start at midnight.",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    last_day = forms.DateField(label="Last day", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end_time = forms.TimeField(
        label="Until",
        required=False,
        help_text="Leave empty to the end of the day.",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    reason = forms.CharField(
        label="Reason", required=False, max_length=200, help_text="Only you and the hospital's staff see it."
    )

    def __init__(self, *args, doctor: Doctor, now, **kwargs):
        kwargs.setdefault("auto_id", "time_off_%s")  # its page has the working hours form too
        super().__init__(*args, **kwargs)
        self.doctor, self.now = doctor, now

    def _moment(self, day: dt.date, time: dt.time | None, *, field: str) -> dt.datetime | None:
        """`time` on `day` in the doctor's zone; no time: the start of the day."""
        if time is None:
            return timefmt.day_start(day, self.doctor.timezone)
        moment = services.wall_time_to_utc(day, time, self.doctor.zone)
        if moment is None:
            self.add_error(field, f"The clocks go forward at that time on {day.day} {day:%B}: it does not exist then.")
        return moment

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first is None or last is None:
            return cleaned
        starts_at = self._moment(first, cleaned.get("start_time"), field="start_time")
        if cleaned.get("end_time") is None:  # to the end of the last day: the start of the next one
            ends_at = self._moment(last + dt.timedelta(days=1), None, field="last_day")
        else:
            ends_at = self._moment(last, cleaned["end_time"], field="end_time")
        if starts_at is None or ends_at is None:
            return cleaned
        if ends_at <= starts_at:
            self.add_error("last_day", "The time off must end after it starts.")
        elif ends_at <= self.now:
            self.add_error("last_day", "This time off is over already.")
        else:
            cleaned["starts_at"], cleaned["ends_at"] = starts_at, ends_at
        return cleaned
