"""Two-factor log-in: staff and doctors confirm each log-in with a code from an authenticator app.

The devices are django-otp's TOTP devices (RFC 6238: 6 digits, a new code every 30 seconds); its
OTPMiddleware marks a request's user verified once a code was accepted in that session. This
module holds the reads and the enrolment's presentation (the otpauth:// URI, its QR code, the
secret as text); the writes are in accounts.services.
"""

from base64 import b32encode

import segno
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User

# Patients are not asked: the second factor protects the accounts that can read many patients'
# records or move money (DESIGN §7).
ROLES_WITH_TWO_FACTOR = frozenset({Role.STAFF, Role.DOCTOR})
SECRET_GROUP_LENGTH = 4


def two_factor_required(user: User) -> bool:
    return user.is_authenticated and user.role in ROLES_WITH_TWO_FACTOR


def second_factor_missing(user: User) -> bool:
    """A staff member or doctor whose session has not yet given a code (needs OTPMiddleware)."""
    return two_factor_required(user) and not user.is_verified()


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def secret_text(device: TOTPDevice) -> str:
    """The secret as an authenticator app asks for it when typed in: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + SECRET_GROUP_LENGTH] for i in range(0, len(secret), SECRET_GROUP_LENGTH))


def otpauth_uri(device: TOTPDevice) -> str:
    """otpauth://totp/<issuer>:<e-mail>?secret=…&issuer=… (the issuer is OTP_TOTP_ISSUER)."""
    return device.config_url


def qr_code_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code, drawn on the server (no script, no image request)."""
    return segno.make(otpauth_uri(device), error="m").svg_inline(
        scale=5,
        border=4,
        dark="#111",
        light="#fff",
        title="QR code to scan with your authenticator app",
        omitsize=True,  # a viewBox only: the stylesheet sizes it, and it scales without clipping
    )


def code_at_step(device: TOTPDevice, step: int) -> str:
    """The code an authenticator app shows in time step `step` (zero-padded to the device's digits)."""
    return f"{hotp(device.bin_key, step, device.digits):0{device.digits}d}"


def current_step(device: TOTPDevice, now: float) -> int:
    return int((now - device.t0) // device.step) + device.drift
