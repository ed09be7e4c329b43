"""A range of days read from the query string, on one clock (the doctor's zone).

`from` and `to` are YYYY-MM-DD, both included; an endpoint that offers it also reads `date` for a
single day. Each endpoint subclasses `DaysQuery` with its defaults and its longest span. Every day
must lie within `WINDOW_YEARS` of today on that clock, so no day is too far for the date and time
arithmetic of the selectors (9999-12-31 plus a day, or 0001-01-01 in Tokyo, would not exist).

    asked = SlotDays(data=request.query_params, zone=ZoneInfo(doctor.timezone))
    asked.is_valid(raise_exception=True)
    asked.validated_data  # {"first_day": date, "last_day": date, "asked": bool}
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone
from rest_framework import serializers

# The longest span any endpoint answers at once, the first and last days included.
MAX_DAYS = 31
# How far from today (on the zone's clock), before or after, a day may be.
WINDOW_YEARS = 2


def _years_on(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


class DaysQuery(serializers.Serializer):
    """Subclass per endpoint; pass the clock as `zone=` (and `now=` to read "today" at another moment)."""

    max_days: int = MAX_DAYS
    # `to` when only `from` is given: `from` plus this many days. None: `from` and `to` go together.
    default_days: int | None = 0
    # Whether `date` (one day) is offered besides `from` and `to`.
    offers_date: bool = False
    clock: str = "the doctor's clock"
    from_help: str = "The first day; default today."
    to_help: str = "The last day, included; default `from`."
    date_help: str = "One day; default today."

    def __init__(self, *args, zone: ZoneInfo | None = None, now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone, self.now = zone, now

    def get_fields(self):
        # `from` is a Python keyword, so the fields are named here rather than as class attributes.
        window = f"YYYY-MM-DD on {self.clock}, from {WINDOW_YEARS} years before today to {WINDOW_YEARS} years after."
        days = {"date": self.date_help} if self.offers_date else {}
        longest = f"At most {self.max_days} days from `from` to `to`, both included."
        days |= {"from": self.from_help, "to": f"{self.to_help} {longest}"}
        return {
            name: serializers.DateField(required=False, help_text=f"{text} {window}") for name, text in days.items()
        }

    def _today(self) -> dt.date:
        assert self.zone is not None, "DaysQuery needs the clock: DaysQuery(data=..., zone=ZoneInfo(...))"
        return (self.now or timezone.now()).astimezone(self.zone).date()

    def _in_window(self, day: dt.date) -> dt.date:
        today = self._today()
        earliest, latest = _years_on(today, -WINDOW_YEARS), _years_on(today, WINDOW_YEARS)
        if not earliest <= day <= latest:
            raise serializers.ValidationError(
                f"Choose a day from {earliest:%Y-%m-%d} to {latest:%Y-%m-%d}: "
                f"at most {WINDOW_YEARS} years before or after today."
            )
        return day

    def validate_date(self, day):
        return self._in_window(day)

    def validate_from(self, day):
        return self._in_window(day)

    def validate_to(self, day):
        return self._in_window(day)

    def validate(self, attrs):
        day, first, last = attrs.get("date"), attrs.get("from"), attrs.get("to")
        if day is not None and (first is not None or last is not None):
            raise serializers.ValidationError("Ask for one day (date) or for a span (from and to), not both.")
        if day is not None:
            return {"first_day": day, "last_day": day, "asked": True}
        if self.default_days is None and (first is None) != (last is None):
            missing = "to" if last is None else "from"
            say = (
                "Give both from and to, or ask for one day with date." if self.offers_date else "Give both from and to."
            )
            raise serializers.ValidationError({missing: [say]})
        asked = first is not None or last is not None
        first = first or self._today()
        last = last or first + dt.timedelta(days=self.default_days or 0)
        if last < first:
            raise serializers.ValidationError(
                {"to": ["The last day cannot be before the first (today, when `from` is not given)."]}
            )
        if (last - first).days + 1 > self.max_days:
            raise serializers.ValidationError(
                {"to": [f"Ask for at most {self.max_days} days at once, the first and last included."]}
            )
        return {"first_day": first, "last_day": last, "asked": asked}
