from django import forms

from appointments.models import AppointmentStatus
from payments.models import PaymentStatus


class BookingForm(forms.Form):
    reason = forms.CharField(
        label="Reason for visit",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional. A few words help the doctor prepare; only the doctor and our staff see it.",
    )


class AppointmentFilterForm(forms.Form):
    WHEN_CHOICES = [("upcoming", "Upcoming"), ("past", "Past")]
    SORT_CHOICES = [("soonest", "Soonest first"), ("latest", "Latest first"), ("booked", "Recently booked")]

    when = forms.ChoiceField(choices=WHEN_CHOICES, required=False)
    status = forms.ChoiceField(label="Status", choices=[("", "Any status"), *AppointmentStatus.choices], required=False)
    payment = forms.ChoiceField(label="Payment", choices=[("", "Any payment"), *PaymentStatus.choices], required=False)
    sort = forms.ChoiceField(label="Sort", choices=SORT_CHOICES, required=False)
