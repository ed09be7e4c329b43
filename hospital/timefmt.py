"""Times as people read them: always in a zone the caller names, with the zone named.

Django's `|date` converts to the *active* zone, which is UTC in a worker or a webhook request, so
an e-mail built there would print a UTC time beside the doctor's zone. Nothing here looks at the
active zone: every function takes the zone (an IANA name) it shows the moment in.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass


def local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(zoneinfo.ZoneInfo(zone))


def day_start(day: dt.date, zone: str) -> dt.datetime:
    """The first instant of `day` on the zone's clock, in UTC. Where the clocks jump over
    midnight the day starts at the jump, which is what reading the skipped midnight with fold=0
    gives."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC)


def format_day(moment: dt.datetime, zone: str) -> str:
    """'Wednesday 2 December 2026'"""
    at = local(moment, zone)
    return f"{at:%A} {at.day} {at:%B %Y}"


def format_clock(moment: dt.datetime, zone: str) -> str:
    """'10:00 JST' (zones without an abbreviation give their offset, e.g. '10:00 +04')."""
    at = local(moment, zone)
    return f"{at:%H:%M} {at.tzname()}"


def format_date(moment: dt.datetime, zone: str) -> str:
    """'2 Dec 2026'"""
    at = local(moment, zone)
    return f"{at.day} {at:%b %Y}"


def format_short(moment: dt.datetime, zone: str) -> str:
    """'2 Dec 2026, 10:00 JST'"""
    return f"{format_date(moment, zone)}, {format_clock(moment, zone)}"


def format_when(moment: dt.datetime, zone: str) -> str:
    """'Wednesday 2 December 2026, 10:00 JST (Asia/Tokyo)': what an e-mail says."""
    return f"{format_day(moment, zone)}, {format_clock(moment, zone)} ({zone})"


def format_moment(moment: dt.datetime, zone: str) -> str:
    """'Mon 7 Dec 2026 09:00 JST (Asia/Tokyo)': what the admin lists."""
    at = local(moment, zone)
    return f"{at:%a} {format_date(moment, zone)} {format_clock(moment, zone)} ({zone})"


def format_span(starts_at: dt.datetime, ends_at: dt.datetime, zone: str) -> str:
    """'Mon 7 Dec 2026 09:00 – 12:00 JST (Asia/Tokyo)'; the end's day only when it differs, and the
    start's abbreviation too when a clock change falls inside ('23:00 BST – … 12:00 GMT')."""
    start, end = local(starts_at, zone), local(ends_at, zone)
    start_text = f"{start:%a} {format_date(starts_at, zone)} {start:%H:%M}"
    if start.tzname() != end.tzname():
        start_text += f" {start.tzname()}"
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a} {format_date(ends_at, zone)} {end:%H:%M}"
    return f"{start_text} – {end_text} {end.tzname()} ({zone})"


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


@dataclass(frozen=True)
class Shown:
    """One moment as a page prints it: `iso` for <time datetime>, `text` on the doctor's clock
    with its zone, `yours` on the viewer's clock where it reads differently (else '')."""

    iso: str
    text: str
    yours: str


def shown(moment: dt.datetime, *, zone: str, viewer_zone: str, style=format_clock) -> Shown:
    return Shown(
        iso=local(moment, zone).isoformat(),
        text=style(moment, zone),
        yours=format_beside(moment, zone=viewer_zone, beside=zone),
    )


@dataclass(frozen=True)
class VisitTimes:
    """A visit's time as pages print it, computed once per row (never in a template loop): the
    doctor's wall clock and zone, and the viewer's own clock beside it where it differs."""

    zone: str  # the doctor's IANA name, e.g. "Europe/London"
    zone_abbr: str  # "BST"
    iso: str  # the start, for <time datetime>
    day: str  # "Tuesday 2 June 2026"
    starts: str  # "14:00"
    ends: str  # "14:30"
    yours: str  # the start on the viewer's clock, "09:00 EDT", or ""
    month: str  # "Jun", for the list's date tile
    day_of_month: int  # 2
    weekday: str  # "Tue"


def visit_times(*, starts_at: dt.datetime, ends_at: dt.datetime, zone: str, viewer_zone: str) -> VisitTimes:
    start = local(starts_at, zone)
    return VisitTimes(
        zone=zone,
        zone_abbr=start.tzname(),
        iso=start.isoformat(),
        day=format_day(starts_at, zone),
        starts=f"{start:%H:%M}",
        ends=f"{local(ends_at, zone):%H:%M}",
        yours=format_beside(starts_at, zone=viewer_zone, beside=zone),
        month=f"{start:%b}",
        day_of_month=start.day,
        weekday=f"{start:%a}",
    )
