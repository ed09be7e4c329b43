"""Rate limits on the account forms anyone may post: log-in (the page and the API's token log-in,
one budget), sign-up and password reset. Counted per client address in hospital.ratelimit's
counters (Redis when CACHE_URL says so, so every app server shares them), and log-in also per
e-mail address, so guesses spread over many addresses still run out. That one counts failed
log-ins only: each attempt is counted before its password is checked (so parallel guesses cannot
slip past the limit) and given back when it succeeds, so someone who logs in often is never held
back by their own log-ins. django-axes' lock-out of an e-mail and address pair after a few
failures comes on top."""

import hashlib

from django.conf import settings
from django.http import HttpRequest

from accounts.models import normalize_email_address
from hospital import ratelimit
from hospital.audit import request_ip

WINDOW_SECONDS = 3600

LOG_IN = "login"
SIGN_UP = "signup"
PASSWORD_RESET = "password-reset"  # noqa: S105 (a form's name)


def _limits_per_hour(form: str) -> dict[str, int]:
    return {
        LOG_IN: {
            "address": settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS,
            "email": settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_EMAIL,
        },
        SIGN_UP: {"address": settings.SIGNUP_RATE_LIMIT_PER_HOUR_PER_ADDRESS},
        PASSWORD_RESET: {"address": settings.PASSWORD_RESET_RATE_LIMIT_PER_HOUR_PER_ADDRESS},
    }[form]


def account_form_allowed(request: HttpRequest, *, form: str, email: str = "") -> bool:
    """Count one post of `form` from this request's address (and for `email`, where the form
    counts per e-mail); False once any of its limits is passed within the hour."""
    limits = _limits_per_hour(form)
    counted = [("address", request_ip(request) or "unknown")]
    if email and "email" in limits:
        counted.append(("email", _email_digest(email)))
    # Every counter counts this attempt (no short cut), so each one's count is the whole truth.
    verdicts = [
        ratelimit.allow(scope=f"{form}-{kind}", who=who, limit=limits[kind], window_seconds=WINDOW_SECONDS)
        for kind, who in counted
    ]
    return all(verdicts)


def log_in_succeeded(email: str) -> None:
    """The right password for `email`: its attempt no longer counts towards the e-mail's limit
    (the address's limit, against one network's volume, keeps it)."""
    ratelimit.give_back(scope=f"{LOG_IN}-email", who=_email_digest(email), window_seconds=WINDOW_SECONDS)


def _email_digest(email: str) -> str:
    # A digest, not the address itself: the cache holds no one's e-mail.
    return hashlib.sha256(normalize_email_address(email).encode()).hexdigest()


def retry_after_seconds() -> int:
    return ratelimit.seconds_left(WINDOW_SECONDS)
