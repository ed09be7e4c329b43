"""Request limits per user and per address, counted in the cache (Redis across app servers).

Rates come from settings.API_THROTTLE_RATES when a request is counted, not when the class is
defined (DRF's own classes read them once, at import), so a deployment or a test can change them.
While the cache is down every request is let through, as on the pages (hospital.ratelimit).
"""

import logging
from collections.abc import Mapping

from django.conf import settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from hospital import account_limits, ratelimit
from hospital.audit import request_ip
from hospital.cache_outage import CACHE_ERRORS, cache_failed

logger = logging.getLogger(__name__)


class _RateFromSettings(SimpleRateThrottle):
    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as error:
            cache_failed(logger, f"counting API requests per {self.scope}", error)
            return True

    def get_ident(self, request) -> str:
        # The connection's address, as everywhere else: a client-sent X-Forwarded-For is not trusted.
        return request_ip(request) or "unknown"


class PerUser(_RateFromSettings):
    """Signed-in callers by account (wherever they call from); visitors by address."""

    scope = "user"

    def get_cache_key(self, request, view) -> str:
        who = f"user-{request.user.pk}" if request.user.is_authenticated else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": who}


class PerAddress(_RateFromSettings):
    scope = "address"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class Booking(BaseThrottle):
    """The booking page's own limit and counter (hospital.ratelimit, BOOKING_RATE_LIMIT_PER_HOUR):
    a patient has one budget of bookings an hour, whether they book on the page or through the API."""

    WINDOW_SECONDS = 3600

    def allow_request(self, request, view) -> bool:
        return ratelimit.allow(
            scope="book",
            who=str(request.user.pk),
            limit=settings.BOOKING_RATE_LIMIT_PER_HOUR,
            window_seconds=self.WINDOW_SECONDS,
        )

    def wait(self) -> float:
        return ratelimit.seconds_left(self.WINDOW_SECONDS)  # the counter's window ends


class LogIn(BaseThrottle):
    """The log-in page's limits and counters (hospital.account_limits): one budget per address and
    per e-mail address, whether the log-in comes through the page or the API."""

    def allow_request(self, request, view) -> bool:
        email = request.data.get("email") if isinstance(request.data, Mapping) else None
        return account_limits.account_form_allowed(
            request, form=account_limits.LOG_IN, email=email if isinstance(email, str) else ""
        )

    def wait(self) -> float:
        return account_limits.retry_after_seconds()
