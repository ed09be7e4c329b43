"""The staff's money forms: a refund in the currency's major units, and a cancel with its reason
(the admin's actions and the appointment page's money panel alike); the dashboard's filter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from appointments.forms import reason_for_patients_field
from hospital.models import Currency
from hospital.money import TooManyDecimals, decimal_places, format_money, to_minor_units
from payments.dashboard import MAX_RANGE_MONTHS, default_range, months_between
from payments.models import Refund
from payments.selectors import CancellationQuote


class RefundForm(forms.Form):
    """How much to give back, typed as money (12.50), and why. `cleaned_data["amount"]` is in minor
    units, checked against what is left to refund (the database checks it again on insert)."""

    # Plain text, not a number input: the browser's own step rules would refuse 10.005 with a message
    # of its own; here the server says what is wrong in the currency's terms.
    amount = forms.DecimalField(
        label="Amount to refund", max_digits=12, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    note = forms.CharField(
        label="Reason",
        max_length=300,
        # Wide enough to read a sentence back in the admin (the site's own pages size fields by CSS).
        widget=forms.TextInput(attrs={"size": 70}),
        help_text="Who asked and why, for the payment's record (staff read it; the patient does not).",
        error_messages={"required": "Please say why the money is given back."},
    )

    def __init__(self, *args, currency: str, refundable: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.refundable = refundable
        places = decimal_places(currency)
        self.fields["amount"].help_text = f"At most {format_money(refundable, currency)}, " + (
            f"in {currency.upper()} with up to {places} decimal places (12.50)."
            if places
            else f"in whole {currency.upper()} (no decimals)."
        )

    def clean_amount(self) -> int:
        amount: Decimal = self.cleaned_data["amount"]
        if amount <= 0:
            raise forms.ValidationError("Enter an amount above zero.")
        try:
            minor = to_minor_units(amount, self.currency)
        except TooManyDecimals:
            places = decimal_places(self.currency)
            raise forms.ValidationError(
                f"{Currency(self.currency).label} has no smaller unit: enter a whole number."
                if not places
                else f"{Currency(self.currency).label} has {places} decimal places: {amount} has more."
            ) from None
        if minor > self.refundable:
            raise forms.ValidationError(
                f"At most {format_money(self.refundable, self.currency)} is left to refund on this payment."
            )
        return minor


class StaffCancelForm(forms.Form):
    note = reason_for_patients_field(
        help_text="The patient reads this in the e-mail telling them of the cancellation and the full refund."
    )


def refund_requested_message(refund: Refund) -> str:
    """What staff read once their refund is recorded (the admin and the appointment page alike)."""
    return (
        f"Refund of {format_money(refund.amount, refund.currency)} on payment #{refund.payment_id} requested. "
        'It reads "Refund pending" until Stripe reports it.'
    )


def canceled_message(appointment_id: int, quote: CancellationQuote) -> str:
    refund = f" {quote.amount_words} is being refunded." if quote.amount else ""
    return f"Booking #{appointment_id} canceled; the patient is told why.{refund}"


def _day_field(label: str) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class LongSelect(forms.Select):
    """A select whose options are joined in Python: Django renders each option through a template
    of its own, which for a hospital's every doctor (a thousand) costs most of the page's time."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, mark_safe(" selected") if str(key) == chosen else "", label) for key, label in self.choices),
        )
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}</select>', name, attributes, options)


class DashboardFilterForm(forms.Form):
    """The money dashboard's range (days on the hospital's clock, both included) and doctor. With
    nothing asked for, the last 12 months of every doctor."""

    start = _day_field("From")
    end = _day_field("To")
    doctor = forms.TypedChoiceField(label="Doctor", coerce=int, required=False, empty_value=None, widget=LongSelect)

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
