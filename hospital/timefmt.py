"""Times as people read them: always in a zone the caller names, with the zone named.

Django's `|date` converts to the *active* zone, which is UTC in a worker or a webhook request, so
an e-mail built there would print a UTC time beside the doctor's zone. Nothing here looks at the
active zone: every function takes the zone (an IANA name) it shows the moment in.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo


def local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(zoneinfo.ZoneInfo(zone))


def format_day(moment: dt.datetime, zone: str) -> str:
    """'Wednesday 2 December 2026'"""
    at = local(moment, zone)
    return f"{at:%A} {at.day} {at:%B %Y}"


def format_clock(moment: dt.datetime, zone: str) -> str:
    """'10:00 JST' (zones without an abbreviation give their offset, e.g. '10:00 +04')."""
    at = local(moment, zone)
    return f"{at:%H:%M} {at.tzname()}"


def format_short(moment: dt.datetime, zone: str) -> str:
    """'2 Dec 2026, 10:00 JST'"""
    at = local(moment, zone)
    return f"{at.day} {at:%b %Y}, {format_clock(moment, zone)}"


def format_when(moment: dt.datetime, zone: str) -> str:
    """'Wednesday 2 December 2026, 10:00 JST (Asia/Tokyo)': what an e-mail says."""
    return f"{format_day(moment, zone)}, {format_clock(moment, zone)} ({zone})"


def format_beside(moment: dt.datetime, *, zone: str, beside: str) -> str:
    """The moment on the clock of `zone`, to print beside its reading in `beside` (the doctor's
    zone); empty when both clocks read the same, or when `zone` is not given. The day is named
    only when it differs: '02:00 GMT', 'Tue 1 Dec, 23:00 GMT'."""
    if not zone:
        return ""
    here, there = local(moment, zone), local(moment, beside)
    if (here.utcoffset(), here.tzname()) == (there.utcoffset(), there.tzname()):
        return ""
    clock = format_clock(moment, zone)
    return clock if here.date() == there.date() else f"{here:%a} {here.day} {here:%b}, {clock}"
