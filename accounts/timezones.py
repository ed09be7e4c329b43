"""IANA time zone names, as the system's tz database knows them.

Patients keep their zone on their profile (here, in accounts) and doctors theirs on the doctor
profile (hospital, above accounts), so the rule lives in the lower app and hospital imports it.
"""

import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError


@cache
def _known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone_name(value: str) -> None:
    if value not in _known_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone name, e.g. Europe/London.")


def timezone_choices() -> list[tuple[str, str]]:
    return sorted((name, name.replace("_", " ")) for name in _known_timezones() if "/" in name)
