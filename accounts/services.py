import datetime
import logging
import math
import time

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone as django_timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, PatientProfile, Role, User, hospital_time_zone, normalize_email_address
from accounts.timezones import validate_timezone_name
from accounts.two_factor import code_at_step, current_step

logger = logging.getLogger(__name__)

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


def user_sessions_end(*, user_id: int | str, session_hash: str | None) -> bool:
    """End every session of this user, wherever it is kept (a cache that cannot be told right now
    included): the next request of each finds its hash stale and is signed out. Only when
    `session_hash`, that of the session asking, still signs this user in: a session its hash
    already refuses ends nothing else. API tokens are not sessions and stay. True if ended."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not session_hash:
        return False
    valid = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(session_hash, current) for current in valid):
        return False
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    return True


# --- Two-factor log-in (accounts/two_factor.py) ---

AUTHENTICATOR_APP = "Authenticator app"
CODE_WRONG = "That code is not right. Enter the 6-digit code your authenticator app shows now."
CODE_REUSED = "That code has already been used. Wait for your app to show a new code, then enter it."
CODE_THROTTLED = "Too many wrong codes. Wait {wait}, then enter the newest code from your app."


class CodeRefused(Exception):
    """A code that does not let the person in; the message is written for them."""


def totp_enrolment_device(*, user: User) -> TOTPDevice:
    """The device `user` is setting up: their unconfirmed one, made once, so a reload of the set-up
    page shows the same secret the app may already have scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_APP, confirmed=False)


def totp_code_check(*, device: TOTPDevice, code: str) -> TOTPDevice:
    """Accept `code` once for `device` (confirming a device being set up), or raise CodeRefused.

    django-otp refuses a code of a time step already used (last_t) and counts failures: after n
    wrong codes in a row the next try must wait 2^(n-1) seconds, so 6 digits cannot be guessed."""
    device, refusal = _totp_code_check(device=device, code=code)
    if refusal:
        logger.warning(
            "Two-factor code refused for user %s (%s; %d failed in a row)",
            device.user_id,
            refusal,
            device.throttling_failure_count,
        )
        raise CodeRefused(refusal)
    return device


@transaction.atomic
def _totp_code_check(*, device: TOTPDevice, code: str) -> tuple[TOTPDevice, str]:
    # The row lock makes a code single-use even when two requests send it at once: the second
    # waits here, then sees the first one's last_t. Refusals return rather than raise, so the
    # failure count django-otp saves is committed with them.
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    allowed, why = device.verify_is_allowed()
    if not allowed:
        wait = why["locked_until"] - django_timezone.now()
        seconds = max(1, math.ceil(wait.total_seconds()))
        return device, CODE_THROTTLED.format(wait=f"{seconds} second{'s' if seconds != 1 else ''}")
    if device.verify_token(code):
        if not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        return device, ""
    return device, CODE_REUSED if _code_already_used(device, code) else CODE_WRONG


def _code_already_used(device: TOTPDevice, code: str) -> bool:
    """`code` is one the app showed within the accepted window, but of a step already used."""
    now_step = current_step(device, time.time())
    steps = range(now_step - device.tolerance, min(device.last_t, now_step + device.tolerance) + 1)
    return any(code_at_step(device, step) == code for step in steps)


def totp_devices_remove(*, user: User) -> int:
    """Forget `user`'s authenticator app (a lost phone): their next log-in sets up a new one, and a
    session verified with the old one is no longer (OTPMiddleware finds no device)."""
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def totp_demo_device_set(*, user: User, key: str) -> TOTPDevice:
    """The demo's fixed secret (hex) as `user`'s only, confirmed, device. Only the demo seed calls this."""
    TOTPDevice.objects.filter(user=user).exclude(name=AUTHENTICATOR_APP, key=key).delete()
    device, _ = TOTPDevice.objects.update_or_create(
        user=user, name=AUTHENTICATOR_APP, key=key, defaults={"confirmed": True}
    )
    return device
