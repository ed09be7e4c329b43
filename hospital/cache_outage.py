"""What the site does while its cache (Redis, with CACHE_URL=redis://...) is down or hangs: it
carries on without it. Public pages are built afresh (hospital.page_cache), rate limits let
requests through (hospital.ratelimit, hospital.api.throttling) and sessions are read from the
database (hospital.sessions). Each call gives up after CACHE_TIMEOUT_SECONDS, so a Redis that
hangs costs a bounded time per request; /healthz, which uses the cache directly, still reports it.

A Redis outage fails every request that touches the cache: one warning per logger a minute keeps
the log readable while saying, as long as the outage lasts, that it goes on.
"""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError

# The errors of the only networked cache we configure: refused, reset, timed out, or an answer
# that is not Redis. Anything else (a value that cannot be pickled) is a bug and still raises.
CACHE_ERRORS = (RedisError,)
WARN_EVERY_SECONDS = 60

_last_warned: dict[str, float] = {}
_lock = threading.Lock()
# Monotonic: a wall clock set back would silence the warnings for as long.
_clock = time.monotonic


def cache_failed(logger: logging.Logger, doing: str, error: BaseException) -> None:
    """Log a WARNING on `logger` that the cache failed while `doing` something, unless this logger
    already did within WARN_EVERY_SECONDS in this process."""
    now = _clock()
    with _lock:
        last = _last_warned.get(logger.name)
        if last is not None and now - last < WARN_EVERY_SECONDS:
            return
        _last_warned[logger.name] = now
    logger.warning(
        "Cache unavailable (%s: %s), carrying on without it; next warning in %d s at the earliest",
        doing,
        type(error).__name__,
        WARN_EVERY_SECONDS,
        extra={"cache_error": f"{type(error).__name__}: {error}"},
    )
