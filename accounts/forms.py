import datetime

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.utils import timezone

from accounts.models import Role, hospital_time_zone, normalize_email_address
from accounts.services import API_TOKEN_LIFETIMES_DAYS
from accounts.timezones import timezone_choices

OLDEST_PLAUSIBLE_AGE_YEARS = 125


def validate_date_of_birth(value: datetime.date) -> None:
    today = timezone.localdate()
    if value > today:
        raise forms.ValidationError("Date of birth cannot be in the future.")
    if value.year < today.year - OLDEST_PLAUSIBLE_AGE_YEARS:
        raise forms.ValidationError("Please check the year of your date of birth.")


class DateOfBirthField(forms.DateField):
    default_validators = [validate_date_of_birth]
    widget = forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d")


# Why the phone number is asked for, in the words that fit whoever reads the form.
PHONE_HELP = {
    Role.PATIENT: "So the hospital can reach you about your appointments.",
    Role.DOCTOR: "So the appointments desk can reach you about your clinic: a changed or urgent visit.",
    Role.STAFF: "So colleagues can reach you about the work you handle.",
}


class ProfileForm(forms.Form):
    first_name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    phone = forms.CharField(
        max_length=32,
        required=False,
        help_text=PHONE_HELP[Role.PATIENT],
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    date_of_birth = DateOfBirthField()
    timezone = forms.ChoiceField(
        label="Your time zone",
        choices=timezone_choices,
        initial=hospital_time_zone,
        help_text="Appointment times are given in the doctor's zone; where yours differs, we show your time too.",
        # The sign-up page's script preselects the browser's zone; without scripts the hospital's stays.
        widget=forms.Select(attrs={"data-browser-time-zone": ""}),
    )

    def __init__(self, *args, role: str = Role.PATIENT, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].help_text = PHONE_HELP[role]
        if role != Role.PATIENT:  # a patient's own facts: a doctor's and staff's clock is not asked
            del self.fields["date_of_birth"], self.fields["timezone"]


class SignUpForm(ProfileForm):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        help_text="You will log in with this address.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        help_text=password_validators_help_text_html(),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Repeat password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    field_order = ["first_name", "last_name", "email", "phone", "date_of_birth", "timezone", "password1", "password2"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password2") and cleaned["password1"] != cleaned["password2"]:
            self.add_error("password2", "The two passwords do not match.")
        return cleaned


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That e-mail address and password do not match an account. Check both and try again.",
    }

    def clean_username(self) -> str:
        return normalize_email_address(self.cleaned_data["username"])


def _lifetime_label(days: int) -> str:
    return "1 year" if days == 365 else f"{days} days"


class ApiTokenForm(forms.Form):
    """A new API token on the profile page: what it is for, and how long it lives."""

    name = forms.CharField(
        label="Token name",
        max_length=80,
        help_text="Which app or device will use it, so you can tell your tokens apart (e.g. “My phone”).",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    days = forms.TypedChoiceField(
        label="Expires after",
        coerce=int,
        choices=[(days, _lifetime_label(days)) for days in API_TOKEN_LIFETIMES_DAYS],
        initial=90,
    )


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=12,  # room for the spaces some people type between the digits
        help_text="Your authenticator app shows a new code every 30 seconds.",
        error_messages={"required": "Enter the 6-digit code from your authenticator app."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "class": "code-input"}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows, numbers only.")
        return code
