from django import forms

from appointments.models import (
    REVIEW_COMMENT_MAX_LENGTH,
    Appointment,
    AppointmentStatus,
    VisitNote,
    VisitNoteAddendum,
)
from hospital.models import Rating
from payments.patient_labels import PATIENT_PAYMENT_STATUSES, payment_statuses_shown_as


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
    payment = forms.ChoiceField(
        label="Payment",
        choices=[("", "Any payment"), *((status.value, status.label) for status in PATIENT_PAYMENT_STATUSES)],
        required=False,
    )
    sort = forms.ChoiceField(label="Sort", choices=SORT_CHOICES, required=False)

    @classmethod
    def from_query(cls, query) -> "AppointmentFilterForm":
        """The filters in the query string that are valid, as an unbound form showing them: a bad
        value (an old link, a typo) is dropped quietly and the others kept, never shown as an error."""
        # Each field cleans its own value: a bound form would copy every field a second time.
        form = cls()
        for name, field in form.fields.items():
            try:
                value = field.clean(query.get(name, ""))
            except forms.ValidationError:
                continue
            if value:
                form.initial[name] = value
        return form

    @property
    def payment_statuses(self) -> list[str]:
        """The stored payment statuses that the chosen payment filter covers (none: any)."""
        chosen = self.initial.get("payment")
        return payment_statuses_shown_as(chosen) if chosen else []


class ReviewForm(forms.Form):
    _CHOOSE = f"Choose a rating from {min(Rating.values)} to {max(Rating.values)}."

    rating = forms.TypedChoiceField(
        label="Your rating",
        choices=Rating.choices,  # each shown as its number and word: "4 Very good"
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _CHOOSE, "invalid_choice": _CHOOSE},
    )
    comment = forms.CharField(
        label="Comment",
        required=False,
        max_length=REVIEW_COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only the doctor and our staff read it; other patients see the average rating alone.",
    )


class CalendarFeedForm(forms.Form):
    """The doctor's calendar feed page: each button posts its action."""

    ISSUE, REVOKE = "issue", "revoke"
    action = forms.ChoiceField(
        choices=[(ISSUE, "Make a feed address"), (REVOKE, "Turn the feed off")],
        error_messages={
            "required": "Choose what to do with your calendar feed.",
            "invalid_choice": "That is not something this page can do with your calendar feed.",
        },
    )


class VisitNoteForm(forms.Form):
    text = forms.CharField(
        label="Draft note",
        required=False,
        max_length=VisitNote._meta.get_field("text").max_length,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Only you and the hospital's clinical-records staff can read it.",
    )


class AddendumForm(forms.Form):
    # Its own prefix: its field never shares an id with the note's on one page.
    prefix = "addendum"

    text = forms.CharField(
        label="New addendum",
        max_length=VisitNoteAddendum._meta.get_field("text").max_length,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="A correction or addition, dated and signed with your name. The note stays as it was signed.",
    )


def reason_for_patients_field(
    *,
    help_text: str,
    label: str = "Reason, for the patient",
    required_message: str = "Please say why, for the patient: they read it in their e-mail.",
) -> forms.CharField:
    """Why a visit is canceled or moved by the doctor or the hospital: the patient reads it in their
    e-mail; as long as Appointment.cancel_note holds."""
    return forms.CharField(
        label=label,
        max_length=Appointment._meta.get_field("cancel_note").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
        error_messages={"required": required_message},
    )


class CancelVisitForm(forms.Form):
    """The doctor's cancel: the patient is refunded in full and reads the reason."""

    prefix = "cancel"

    note = reason_for_patients_field(
        help_text="The patient reads it in their e-mail and on their appointment page. No clinical details."
    )


class RescheduleForm(forms.Form):
    """The new time, one of the doctor's free slots the page offers (`slot_days`)."""

    _CHOOSE = "Choose one of the free times below."

    slot = forms.TypedChoiceField(
        label="New time", coerce=int, error_messages={"required": _CHOOSE, "invalid_choice": _CHOOSE}
    )

    def __init__(self, *args, slot_days, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = [(chip.pk, chip.aria_label) for day in slot_days for chip in day.slots]
