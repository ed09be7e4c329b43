"""How times and money look in every API response.

A time is ISO 8601 with the offset of the doctor's zone (`2026-12-02T09:00:00+09:00`), and the
object names that zone (`time_zone`), so a client shows the wall-clock time the doctor sees.
Money is an integer in minor units and its ISO currency, never a float.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def in_zone(moment: dt.datetime | None, zone: str) -> str | None:
    return None if moment is None else moment.astimezone(ZoneInfo(zone)).isoformat()


class Money(serializers.Serializer):
    amount = serializers.IntegerField(help_text="In the currency's minor unit (cents, pence; yen as they are).")
    currency = serializers.CharField(help_text="ISO 4217, lower case.")


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


@extend_schema_field({"type": "string", "format": "date-time", "example": "2026-12-02T09:00:00+09:00"})
class ZonedDateTime(serializers.Field):
    """Read-only: an already formatted `in_zone` string (selectors compute it once per row)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value
