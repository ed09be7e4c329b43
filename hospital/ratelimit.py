"""A fixed-window request counter in the cache (Redis in production, so it holds across workers).

While the cache is down the limits fail open: every request is let through, rather than every
request refused or answered with a 500. Log-in guessing stays bounded by django-axes' lock-out,
which keeps its failures and lock-outs in the database (settings.AXES_HANDLER), not in the cache.
"""

import logging
import math
import time

from django.core.cache import cache

from hospital.cache_outage import CACHE_ERRORS, cache_failed

logger = logging.getLogger(__name__)


def allow(*, scope: str, who: str, limit: int, window_seconds: int) -> bool:
    """Count one request by `who` in `scope`; False once `limit` is passed within the window (and
    True, uncounted, while the cache is down)."""
    key = _key(scope, who, window_seconds)
    try:
        return _count(key, limit=limit, window_seconds=window_seconds)
    except CACHE_ERRORS as error:
        cache_failed(logger, f"counting {scope} requests", error)
        return True


def _key(scope: str, who: str, window_seconds: int) -> str:
    """The counter of `who` in `scope` for the window now running."""
    return f"ratelimit:{scope}:{who}:{int(time.time() // window_seconds)}"


def _count(key: str, *, limit: int, window_seconds: int) -> bool:
    # add() is atomic: the first request of a window creates the counter, the rest increment it.
    if cache.add(key, 1, timeout=window_seconds):
        return True
    try:
        return cache.incr(key) <= limit
    except ValueError:  # the counter expired between add() and incr(): a new window begins
        cache.add(key, 1, timeout=window_seconds)
        return True


def give_back(*, scope: str, who: str, window_seconds: int) -> None:
    """Take back one request `allow` counted in the current window: for a limit on failures that
    must still be checked before the attempt (a log-in's password), given back once it succeeded."""
    try:
        cache.decr(_key(scope, who, window_seconds))
    except ValueError:  # the window ended meanwhile, and its counter with it: nothing to give back
        pass
    except CACHE_ERRORS as error:
        cache_failed(logger, f"giving back a {scope} request", error)


def seconds_left(window_seconds: int) -> int:
    """Seconds until the current window ends and its counters start again (at least 1)."""
    return max(1, math.ceil(window_seconds - time.time() % window_seconds))
