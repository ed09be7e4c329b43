"""Reads of the doctor's portal: their day, their week and their appointment lists.

Every row is one of the doctor's own appointments, read as the values its line prints (no model
instances) in one query, with whether the visit counts as paid (`payment_facts.is_paid`) as an
annotation. Times are on the doctor's clock, with the zone named; what the row offers is what
`visit_actions.doctor_actions` allows at `now`, the rule the lifecycle service enforces.
"""

from __future__ import annotations

import datetime as dt
import textwrap
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.urls import reverse

from appointments import payment_facts
from appointments.models import Appointment, AppointmentStatus
from appointments.selectors import status_badge, still_to_come, values_page
from appointments.visit_actions import DoctorAction, doctor_actions
from hospital import timefmt
from hospital.models import Doctor
from hospital.selectors import url_for_ids

REASON_SHOWN_CHARACTERS = 110  # a line of the day's table; the appointment page has it whole

_ROW_FIELDS = (
    "pk",
    "status",
    "hold_expires_at",
    "slot__starts_at",
    "slot__ends_at",
    "patient__first_name",
    "patient__last_name",
    "reason",
    "paid",
)

# The list's sort menu (forms.AppointmentListForm) offers these.
ORDERINGS = {
    "soonest": ("slot__starts_at", "pk"),
    "latest": ("-slot__starts_at", "-pk"),
    "patient": ("patient__last_name", "patient__first_name", "slot__starts_at", "pk"),
}


@dataclass(frozen=True)
class ActionButton:
    label: str  # "Start visit"
    url: str  # POST here
    primary: bool  # the step forward; no-show is the secondary one
    # Completing or marking a no-show brings the doctor back to the list; starting opens the
    # visit's page, where its note is written.
    returns_here: bool


@dataclass(frozen=True)
class VisitRow:
    """One appointment as a line of the day, the week or a list prints it, every text ready."""

    detail_url: str
    iso: str  # the start on the doctor's clock, for <time datetime>
    date: str  # "Mon 1 Jun 2026"
    starts: str  # "09:00"
    ends: str  # "09:30"
    zone_abbr: str  # "JST", at the start
    ends_zone_abbr: str  # the same but on a visit the clocks change during
    patient_name: str
    reason: str  # shortened to a line
    status: str
    status_label: str
    status_colour: str
    is_paid: bool
    actions: tuple[ActionButton, ...]


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    colour: str
    count: int


@dataclass(frozen=True)
class ZoneNote:
    """The doctor's zone as a page names it once: "Asia/Tokyo (JST)", both abbreviations on a
    day or week the clocks change ("America/New_York (EST/EDT)")."""

    name: str
    abbreviations: str

    def __str__(self) -> str:
        return f"{self.name} ({self.abbreviations})"


def doctor_for(user) -> Doctor | None:
    """The signed-in doctor's profile, or None for a doctor account staff have not set up yet.
    Read through the user so the header's link to the public page uses the same row."""
    return getattr(user, "doctor_profile", None)


def with_is_paid(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """`paid`: whether the visit counts as paid, false (not null) without a payment."""
    return appointments.annotate(
        paid=Case(When(payment_facts.is_paid(), then=Value(True)), default=Value(False), output_field=BooleanField())
    )


def today_for(doctor: Doctor, *, now: dt.datetime) -> dt.date:
    return timefmt.local(now, doctor.timezone).date()


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def zone_note(doctor: Doctor, *, starts_at: dt.datetime, ends_at: dt.datetime) -> ZoneNote:
    first = timefmt.local(starts_at, doctor.timezone).tzname()
    last = timefmt.local(ends_at - dt.timedelta(microseconds=1), doctor.timezone).tzname()
    return ZoneNote(doctor.timezone, first if first == last else f"{first}/{last}")


class _RowMaker:
    """Builds rows for one page: the URLs reversed once, not once per row."""

    def __init__(self, *, zone: str, now: dt.datetime):
        self.zone, self.now = zoneinfo.ZoneInfo(zone), now
        self.detail_url = url_for_ids("appointments:detail")
        self.action_urls = {
            action: url_for_ids("appointments:visit_action", action=action.value) for action in DoctorAction
        }

    def __call__(self, row: dict) -> VisitRow:
        starts_at, status = row["slot__starts_at"], row["status"]
        start, end = starts_at.astimezone(self.zone), row["slot__ends_at"].astimezone(self.zone)
        payable = status == AppointmentStatus.PENDING_PAYMENT and row["hold_expires_at"] > self.now
        status_label, status_colour = status_badge(status=status, payable=payable)
        actions = doctor_actions(status=status, starts_at=starts_at, is_paid=row["paid"], now=self.now)
        return VisitRow(
            detail_url=self.detail_url(row["pk"]),
            iso=start.isoformat(),
            date=f"{start:%a} {start.day} {start:%b %Y}",
            starts=f"{start:%H:%M}",
            ends=f"{end:%H:%M}",
            zone_abbr=start.tzname(),
            ends_zone_abbr=end.tzname(),
            patient_name=f"{row['patient__first_name']} {row['patient__last_name']}".strip(),
            reason=_one_line(row["reason"]),
            status=status,
            status_label=status_label,
            status_colour=status_colour,
            is_paid=row["paid"],
            actions=tuple(
                ActionButton(
                    action.label,
                    self.action_urls[action](row["pk"]),
                    primary=action != DoctorAction.NO_SHOW,
                    returns_here=action != DoctorAction.START,
                )
                for action in actions
            ),
        )


def _one_line(reason: str) -> str:
    if len(reason) <= REASON_SHOWN_CHARACTERS:
        return reason
    return textwrap.shorten(reason, REASON_SHOWN_CHARACTERS, placeholder=" …")


def _rows(appointments: QuerySet[Appointment], *, zone: str, now: dt.datetime) -> list[VisitRow]:
    make = _RowMaker(zone=zone, now=now)
    return [make(row) for row in appointments.values(*_ROW_FIELDS)]


def counts_of(rows: Iterable[VisitRow]) -> list[StatusCount]:
    """How many rows read each status, in the status machine's order."""
    counted = Counter((row.status, row.status_label, row.status_colour) for row in rows)
    order = {status: index for index, status in enumerate(AppointmentStatus.values)}
    return [
        StatusCount(status, label, colour, count)
        for (status, label, colour), count in sorted(counted.items(), key=lambda item: (order[item[0][0]], item[0][1]))
    ]


def _on_the_schedule(doctor: Doctor, *, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime):
    """The doctor's visits starting in [starts_at, ends_at) that take up their time: every one
    holding its slot (a canceled, expired or lapsed booking leaves the time free)."""
    return with_is_paid(
        Appointment.objects.filter(doctor=doctor, slot__starts_at__gte=starts_at, slot__starts_at__lt=ends_at)
        .holding_slot(now=now)
        .order_by("slot__starts_at", "pk")
    )


@dataclass(frozen=True)
class DoctorDay:
    day: dt.date
    title: str  # "Monday 1 June 2026"
    is_today: bool
    zone: ZoneNote
    rows: list[VisitRow]
    counts: list[StatusCount]


def doctor_day(*, doctor: Doctor, day: dt.date, now: dt.datetime) -> DoctorDay:
    """The doctor's visits on `day` of their own calendar, in order: one query."""
    starts_at = timefmt.day_start(day, doctor.timezone)
    ends_at = timefmt.day_start(day + dt.timedelta(days=1), doctor.timezone)
    rows = _rows(_on_the_schedule(doctor, starts_at=starts_at, ends_at=ends_at, now=now), zone=doctor.timezone, now=now)
    return DoctorDay(
        day=day,
        title=f"{day:%A} {day.day} {day:%B %Y}",
        is_today=day == today_for(doctor, now=now),
        zone=zone_note(doctor, starts_at=starts_at, ends_at=ends_at),
        rows=rows,
        counts=counts_of(rows),
    )


def doctor_agenda(*, doctor: Doctor, first_day: dt.date, last_day: dt.date, now: dt.datetime) -> QuerySet[Appointment]:
    """The doctor's visits from `first_day` to `last_day` (included) of their own calendar, as the
    day and week pages list them (each with `paid`), in order: for the API, which reads them as
    appointments (select what it prints)."""
    starts_at = timefmt.day_start(first_day, doctor.timezone)
    ends_at = timefmt.day_start(last_day + dt.timedelta(days=1), doctor.timezone)
    return _on_the_schedule(doctor, starts_at=starts_at, ends_at=ends_at, now=now)


@dataclass(frozen=True)
class WeekDay:
    weekday: str  # "Mon"
    date: str  # "1 Jun"
    url: str  # the day's own page
    is_today: bool
    rows: list[VisitRow]


@dataclass(frozen=True)
class DoctorWeek:
    title: str  # "1 – 7 June 2026", "29 June – 5 July 2026"
    days: list[WeekDay]
    zone: ZoneNote
    counts: list[StatusCount]
    visit_count: int


def _week_title(monday: dt.date) -> str:
    sunday = monday + dt.timedelta(days=6)
    if monday.year != sunday.year:
        return f"{monday.day} {monday:%B %Y} – {sunday.day} {sunday:%B %Y}"
    if monday.month != sunday.month:
        return f"{monday.day} {monday:%B} – {sunday.day} {sunday:%B %Y}"
    return f"{monday.day} – {sunday.day} {sunday:%B %Y}"


def doctor_week(*, doctor: Doctor, monday: dt.date, now: dt.datetime) -> DoctorWeek:
    """Seven days from `monday` on the doctor's calendar, each with its visits: one query."""
    zone = doctor.timezone
    starts_at = timefmt.day_start(monday, zone)
    ends_at = timefmt.day_start(monday + dt.timedelta(days=7), zone)
    rows = _rows(_on_the_schedule(doctor, starts_at=starts_at, ends_at=ends_at, now=now), zone=zone, now=now)
    by_day: dict[str, list[VisitRow]] = {}
    for row in rows:
        by_day.setdefault(row.iso[:10], []).append(row)  # the local date: "2026-06-01T09:00:00+09:00"
    today = today_for(doctor, now=now)
    day_url = _day_urls()
    days = []
    for offset in range(7):
        day = monday + dt.timedelta(days=offset)
        days.append(
            WeekDay(
                weekday=f"{day:%a}",
                date=f"{day.day} {day:%b}",
                url=day_url(day),
                is_today=day == today,
                rows=by_day.get(day.isoformat(), []),
            )
        )
    return DoctorWeek(
        title=_week_title(monday),
        days=days,
        zone=zone_note(doctor, starts_at=starts_at, ends_at=ends_at),
        counts=counts_of(rows),
        visit_count=len(rows),
    )


def _day_urls() -> Callable[[dt.date], str]:
    marker = "2000-01-01"
    prefix, suffix = reverse("portal:day_on", kwargs={"day": dt.date(2000, 1, 1)}).split(marker)
    return lambda day: f"{prefix}{day.isoformat()}{suffix}"


# --- lists --------------------------------------------------------------------------------------


def default_sort(*, when: str) -> str:
    """Upcoming visits read soonest first; past ones latest first."""
    return "latest" if when == "past" else "soonest"


def doctor_appointments(
    *,
    doctor: Doctor,
    when: str = "upcoming",
    paid: bool | None = None,
    from_day: dt.date | None = None,
    to_day: dt.date | None = None,
    patient: str = "",
    now: dt.datetime,
) -> QuerySet[Appointment]:
    """The doctor's upcoming or past appointments with the list's filters but the status (the
    counts per status are taken over these; `with_status` narrows them). "Upcoming" and "past"
    split them as the patient's list does; the days are the doctor's, `to_day` included."""
    appointments = Appointment.objects.filter(doctor=doctor)
    to_come = still_to_come(now=now)
    appointments = appointments.exclude(to_come) if when == "past" else appointments.filter(to_come)
    if from_day:
        appointments = appointments.filter(slot__starts_at__gte=timefmt.day_start(from_day, doctor.timezone))
    if to_day:
        next_day = to_day + dt.timedelta(days=1)
        appointments = appointments.filter(slot__starts_at__lt=timefmt.day_start(next_day, doctor.timezone))
    for word in patient.split():
        appointments = appointments.filter(
            Q(patient__first_name__icontains=word) | Q(patient__last_name__icontains=word)
        )
    appointments = with_is_paid(appointments)
    if paid is not None:
        appointments = appointments.filter(paid=paid)
    return appointments


def status_counts(appointments: QuerySet[Appointment], *, when: str) -> list[StatusCount]:
    """How many of `appointments` are in each status, one grouped query. A hold awaiting payment
    is upcoming until it lapses, then past: the same status reads as it would on its row."""
    counted = dict(appointments.order_by().values_list("status").annotate(count=Count("pk")))
    counts = []
    for status in AppointmentStatus.values:
        if counted.get(status):
            payable = status == AppointmentStatus.PENDING_PAYMENT and when != "past"
            label, colour = status_badge(status=status, payable=payable)
            counts.append(StatusCount(status, label, colour, counted[status]))
    return counts


def with_status(appointments: QuerySet[Appointment], *, status: str, sort: str, when: str) -> QuerySet[Appointment]:
    if status:
        appointments = appointments.filter(status=status)
    return appointments.order_by(*ORDERINGS[sort or default_sort(when=when)])


@dataclass(frozen=True)
class VisitPage:
    rows: list[VisitRow]
    count: int
    number: int  # the page shown: the last one when the asked-for page is past the end


def visit_page(
    appointments: QuerySet[Appointment], *, doctor: Doctor, number: int, per_page: int, now: dt.datetime
) -> VisitPage:
    """Page `number` of `appointments` as rows, with the total, from one query."""
    found, count, number = values_page(appointments, fields=_ROW_FIELDS, number=number, per_page=per_page)
    make = _RowMaker(zone=doctor.timezone, now=now)
    return VisitPage(rows=[make(row) for row in found], count=count, number=number)
