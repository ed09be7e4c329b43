"""A fixed-window request counter in the cache (Redis in production, so it holds across workers)."""

import math
import time

from django.core.cache import cache


def allow(*, scope: str, who: str, limit: int, window_seconds: int) -> bool:
    """Count one request by `who` in `scope`; False once `limit` is passed within the window."""
    window = int(time.time() // window_seconds)
    key = f"ratelimit:{scope}:{who}:{window}"
    # add() is atomic: the first request of a window creates the counter, the rest increment it.
    if cache.add(key, 1, timeout=window_seconds):
        return True
    try:
        return cache.incr(key) <= limit
    except ValueError:  # the counter expired between add() and incr(): a new window begins
        cache.add(key, 1, timeout=window_seconds)
        return True


def seconds_left(window_seconds: int) -> int:
    """Seconds until the current window ends and its counters start again (at least 1)."""
    return max(1, math.ceil(window_seconds - time.time() % window_seconds))
