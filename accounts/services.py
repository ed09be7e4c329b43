import datetime

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import ApiToken, PatientProfile, Role, User, hospital_time_zone, normalize_email_address
from accounts.timezones import validate_timezone_name

EMAIL_TAKEN_MESSAGE = "An account with this e-mail address already exists. Log in or reset your password."


@transaction.atomic
def patient_register(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    date_of_birth: datetime.date,
    phone: str = "",
    timezone: str | None = None,
) -> User:
    """Create a patient account and its profile, or change nothing and say what is wrong.
    Without a `timezone` the patient gets the hospital's."""
    email = normalize_email_address(email)
    timezone = timezone or hospital_time_zone()
    _check_timezone(timezone)
    user = User(email=email, first_name=first_name, last_name=last_name, phone=phone, role=Role.PATIENT)
    # Field rules (lengths, e-mail shape) checked here too, so every caller gets a clear error
    # instead of a database error; uniqueness gets its own, friendlier message below.
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": EMAIL_TAKEN_MESSAGE})
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from error
    user.set_password(password)
    try:
        # A savepoint, so a racing sign-up with the same address fails cleanly here.
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        raise ValidationError({"email": EMAIL_TAKEN_MESSAGE}) from error
    PatientProfile.objects.create(user=user, date_of_birth=date_of_birth, timezone=timezone)
    return user


def _check_timezone(timezone: str) -> None:
    try:
        validate_timezone_name(timezone)
    except ValidationError as error:
        raise ValidationError({"timezone": error.messages}) from error


@transaction.atomic
def user_profile_update(
    *,
    user: User,
    first_name: str,
    last_name: str,
    phone: str,
    date_of_birth: datetime.date | None = None,
    timezone: str | None = None,
) -> User:
    """A patient's `date_of_birth` and `timezone` go on their profile; left as they are when None."""
    if timezone is not None:
        _check_timezone(timezone)
    user.first_name = first_name
    user.last_name = last_name
    user.phone = phone
    user.save(update_fields=["first_name", "last_name", "phone"])
    profile_fields = {"date_of_birth": date_of_birth, "timezone": timezone}
    profile_fields = {name: value for name, value in profile_fields.items() if value is not None}
    if user.is_patient and profile_fields:
        PatientProfile.objects.update_or_create(user=user, defaults=profile_fields)
    return user


def user_send_password_setup_email(*, user: User, base_url: str) -> None:
    """E-mail a staff-created account (doctor or staff) a one-time link to choose a password.

    Django's password-reset form skips accounts without a usable password, which is exactly
    what a new staff-created account has, so the link is built here with the same token.
    """
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    subject = f"Your {settings.HOSPITAL_NAME} account: choose a password"
    context = {
        "user": user,
        "link": base_url.rstrip("/") + path,
        "site_name": settings.HOSPITAL_NAME,
        **email_base_context(subject=subject),
    }
    send_mail(
        subject=subject,
        message=render_to_string("accounts/email/password_setup.txt", context),
        html_message=render_to_string("accounts/email/password_setup.html", context),
        from_email=None,
        recipient_list=[user.email],
    )


def email_base_context(*, subject: str = "") -> dict:
    """What `email/base.html`, the frame of every HTML e-mail, prints."""
    return {"hospital_name": settings.HOSPITAL_NAME, "site_url": settings.SITE_URL, "subject": subject}


API_TOKEN_LIFETIMES_DAYS = (30, 90, 365)
API_TOKENS_PER_USER = 20


class ApiTokenRefused(Exception):
    pass


def api_token_create(*, user: User, name: str, days: int) -> tuple[ApiToken, str]:
    """A new API token for `user`; the secret is returned once, here, and never stored."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, such as the app or device that will use it."})
    if days not in API_TOKEN_LIFETIMES_DAYS:
        raise ValidationError({"days": f"Choose one of {', '.join(map(str, API_TOKEN_LIFETIMES_DAYS))} days."})
    if ApiToken.objects.live().filter(user=user).count() >= API_TOKENS_PER_USER:
        raise ApiTokenRefused(f"You have {API_TOKENS_PER_USER} tokens, the most allowed. Revoke one you no longer use.")
    return ApiToken.objects.create(user=user, name=name[:80], expiry=datetime.timedelta(days=days))


def api_token_revoke(*, user: User, token_key: str) -> str | None:
    """Revoke one of `user`'s own live tokens: its name, or None when they have none by that key."""
    if "\x00" in token_key:  # no key has one, and PostgreSQL refuses it in a query (a 500, not a 404)
        return None
    token = ApiToken.objects.live().filter(user=user, token_key=token_key).only("name").first()
    if token is None:
        return None
    deleted, _ = ApiToken.objects.filter(pk=token.pk).delete()
    return token.name if deleted else None  # None: revoked a moment ago, by another request
