"""Moments as staff and doctors read them: in the doctor's own zone, with the zone named."""

import datetime as dt
from zoneinfo import ZoneInfo


def _day(local: dt.datetime) -> str:
    return f"{local:%a} {local.day} {local:%b %Y}"


def local_moment(at: dt.datetime, zone: ZoneInfo) -> str:
    """``Mon 7 Dec 2026 09:00 JST (Asia/Tokyo)``."""
    local = at.astimezone(zone)
    return f"{_day(local)} {local:%H:%M} {local.tzname()} ({zone.key})"


def local_span(starts_at: dt.datetime, ends_at: dt.datetime, zone: ZoneInfo) -> str:
    """``Mon 7 Dec 2026 09:00 – 12:00 JST (Asia/Tokyo)``; the end's day only when it differs, and
    the start's abbreviation too when a clock change falls inside (``23:00 BST – … 12:00 GMT``)."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    start_text = f"{_day(start)} {start:%H:%M}"
    if start.tzname() != end.tzname():
        start_text += f" {start.tzname()}"
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{_day(end)} {end:%H:%M}"
    return f"{start_text} – {end_text} {end.tzname()} ({zone.key})"
