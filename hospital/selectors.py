import datetime as dt
import decimal
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import groupby

from django.conf import settings
from django.db.models import Case, Count, F, FloatField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from hospital.models import Doctor, Rating, Slot, TimeOff, Weekday, WorkingHours
from hospital.money import format_money
from hospital.timefmt import format_span


def url_for_ids(view_name: str, **kwargs: str) -> Callable[[int], str]:
    """The URL of `view_name` for any id, from one `reverse`: a page listing many rows links each
    without resolving the URL pattern once per row. With `kwargs` (the URL's other, fixed parts)
    the id is the `pk` keyword."""
    marker = "2147483647"
    url = reverse(view_name, kwargs={"pk": marker, **kwargs}) if kwargs else reverse(view_name, args=[marker])
    prefix, suffix = url.split(marker)
    return lambda pk: f"{prefix}{pk}{suffix}"


def initials(doctor: Doctor) -> str:
    return f"{doctor.user.first_name[:1]}{doctor.user.last_name[:1]}"


@dataclass(frozen=True)
class RatingSummary:
    """A doctor's patient rating as the directory and the doctor page print it."""

    average_text: str  # "4.7", to one decimal
    out_of: int  # 5
    count_text: str  # "23 reviews"


def rating_summary(*, review_count: int, rating_sum: int) -> RatingSummary | None:
    """From the totals kept on the doctor (Doctor.review_count, .rating_sum); None with no reviews."""
    if not review_count:
        return None
    average = (decimal.Decimal(rating_sum) / review_count).quantize(decimal.Decimal("0.1"), decimal.ROUND_HALF_UP)
    return RatingSummary(
        average_text=str(average),
        out_of=max(Rating.values),
        count_text=f"{review_count} review{'' if review_count == 1 else 's'}",
    )


# How the directory can be ordered (the API's `sort`); the page lists by name.
DIRECTORY_SORTS = ("name", "rating", "fee", "next_free")


_BY_NAME = ("user__last_name", "user__first_name", "pk")


def doctor_directory(
    *,
    search: str = "",
    specialty: str = "",
    min_rating: decimal.Decimal | None = None,
    sort: str = "name",
    now: dt.datetime | None = None,
) -> QuerySet[dict]:
    """Listed doctors matching the filters (`specialty` is a slug), each with the start of their next free slot.

    One query for the whole page however many doctors or slots there are: the next free slot
    is a correlated subquery, not a query per doctor. Rows are the values the cards print
    (`doctor_cards`), not model instances: building those cost more than the query.

    `min_rating` keeps the doctors whose average *as printed* (to one decimal, `rating_summary`)
    is at least that, so none is shown below it; doctors with no reviews have no average. `sort`
    is one of DIRECTORY_SORTS: `rating` best first, `next_free` soonest first (each with the
    doctors that have none last), `fee` by currency and then amount (amounts in different
    currencies are not compared); ties by name.
    """
    if sort not in DIRECTORY_SORTS:
        raise ValueError(f"sort is one of {DIRECTORY_SORTS}, not {sort!r}.")
    doctors = _with_next_free(Doctor.objects.filter(is_active=True), now=now)
    if specialty:
        doctors = doctors.filter(specialty__slug=specialty)
    for word in search.split():
        doctors = doctors.filter(Q(user__first_name__icontains=word) | Q(user__last_name__icontains=word))
    if min_rating is not None:
        # average rounded half up to 0.1 >= m  <=>  sum / count >= m - 0.05  <=>  20 sum >= (20 m - 1) count
        # (20 m is whole: m has one decimal at most), in whole numbers on every database.
        scaled = int(20 * min_rating) - 1
        doctors = doctors.alias(twenty_sums=F("rating_sum") * 20).filter(
            review_count__gt=0, twenty_sums__gte=F("review_count") * scaled
        )
    order = [*_BY_NAME]
    if sort == "rating":
        average = Case(
            When(review_count=0, then=Value(None)),
            default=Cast("rating_sum", FloatField()) / Cast("review_count", FloatField()),
            output_field=FloatField(),
        )
        order = [average.desc(nulls_last=True), F("review_count").desc(), *order]
    elif sort == "fee":
        order = ["fee_currency", "fee_amount", *order]
    elif sort == "next_free":
        order = [F("next_free_slot_at").asc(nulls_last=True), *order]
    return doctors.order_by(*order).values(
        "pk", "user__first_name", "user__last_name", "specialty__slug", "specialty__name", "fee_amount",
        "fee_currency", "slot_minutes", "timezone", "next_free_slot_at", "review_count", "rating_sum",
    )  # fmt: skip


def _with_next_free(doctors: QuerySet[Doctor], *, now: dt.datetime | None) -> QuerySet[Doctor]:
    """`next_free_slot_at`: the start of each doctor's soonest bookable slot (None without one)."""
    next_free = Slot.objects.bookable(now=now or timezone.now()).filter(doctor=OuterRef("pk")).order_by("starts_at")
    return doctors.annotate(next_free_slot_at=Subquery(next_free.values("starts_at")[:1]))


def doctor_profile(*, pk: int, user, now: dt.datetime | None = None) -> dict | None:
    """One doctor as the doctor page shows them to `user` (staff see unlisted doctors too, as
    Doctor.objects.visible_to says), in one query: the directory's values and the bio; None if
    there is no such doctor for them."""
    doctors = _with_next_free(Doctor.objects.visible_to(user).filter(pk=pk), now=now)
    return doctors.values(
        "pk", "user__first_name", "user__last_name", "specialty__slug", "specialty__name", "fee_amount",
        "fee_currency", "slot_minutes", "timezone", "next_free_slot_at", "review_count", "rating_sum", "bio",
        "is_active",
    ).first()  # fmt: skip


def doctor_free_slots_on_days(
    *, doctor: Doctor, first_day: dt.date, last_day: dt.date, now: dt.datetime | None = None
) -> QuerySet[Slot]:
    """`doctor_free_slots` starting on `first_day` to `last_day`, both included, days on the
    doctor's clock."""
    zone = zoneinfo.ZoneInfo(doctor.timezone)
    return doctor_free_slots(
        doctor=doctor,
        since=dt.datetime.combine(first_day, dt.time(0), zone),
        until=dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), zone),
        now=now or timezone.now(),
    ).order_by("starts_at", "pk")


@dataclass(frozen=True)
class DoctorCard:
    """One doctor of the directory as its card prints it, every text ready."""

    pk: int
    display_name: str
    initials: str
    specialty: str
    fee_text: str  # "£90.00"
    slot_minutes: int
    next_free_text: str  # "Mon 1 Jun, 10:00" on the doctor's clock, or "" when none
    next_free_zone_abbr: str  # "BST"
    timezone: str  # "Europe/London"
    url: str
    rating: RatingSummary | None  # None: no reviews yet


def doctor_cards(rows: Iterable[dict]) -> list[DoctorCard]:
    """The directory's cards for one page of `doctor_directory`."""
    detail_url = url_for_ids("hospital:doctor_detail")
    cards = []
    for row in rows:
        first, last = row["user__first_name"], row["user__last_name"]
        next_free = row["next_free_slot_at"] and row["next_free_slot_at"].astimezone(zoneinfo.ZoneInfo(row["timezone"]))
        cards.append(
            DoctorCard(
                pk=row["pk"],
                display_name=f"Dr {first} {last}".rstrip(),  # as Doctor.display_name
                initials=f"{first[:1]}{last[:1]}",
                specialty=row["specialty__name"],
                fee_text=format_money(row["fee_amount"], row["fee_currency"]),
                slot_minutes=row["slot_minutes"],
                next_free_text=f"{next_free:%a} {next_free.day} {next_free:%b, %H:%M}" if next_free else "",
                next_free_zone_abbr=next_free.tzname() if next_free else "",
                timezone=row["timezone"],
                url=detail_url(row["pk"]),
                rating=rating_summary(review_count=row["review_count"], rating_sum=row["rating_sum"]),
            )
        )
    return cards


@dataclass(frozen=True)
class SpecialtyCard:
    """A specialty that has listed doctors, for the home page's grid and the specialty menus."""

    slug: str
    name: str
    summary: str  # the description cut to 14 words
    doctor_count_text: str  # "3 doctors"
    directory_url: str  # the directory filtered to it


def _first_words(text: str, count: int) -> str:
    """The first `count` words of a plain text, with " …" when there were more."""
    words = text.split()
    return " ".join(words) if len(words) <= count else " ".join(words[:count]) + " …"


def listed_specialties() -> QuerySet[dict]:
    """Specialties with at least one listed doctor, by name, as values (`specialty__slug`,
    `specialty__name`, `specialty__description`, `doctor_count`): one grouped query."""
    return (
        Doctor.objects.filter(is_active=True)
        .values("specialty__slug", "specialty__name", "specialty__description")
        .annotate(doctor_count=Count("pk"))
        .order_by("specialty__name")
    )


def specialties_with_doctors() -> list[SpecialtyCard]:
    """Specialties with at least one listed doctor, by name: one query serves both the grid and
    every specialty menu (and the directory's check of the chosen one). Counted from the listed
    doctors, grouped, as values: cheaper to build than annotating specialties."""
    directory = reverse("hospital:doctor_list")
    rows = listed_specialties()
    return [
        SpecialtyCard(
            slug=row["specialty__slug"],
            name=row["specialty__name"],
            summary=_first_words(row["specialty__description"], 14),
            doctor_count_text=f"{row['doctor_count']} doctor{'' if row['doctor_count'] == 1 else 's'}",
            directory_url=f"{directory}?specialty={row['specialty__slug']}",
        )
        for row in rows
    ]


@dataclass(frozen=True)
class SlotChip:
    """One free slot as the doctor page prints it, on the doctor's clock."""

    pk: int
    starts_at: dt.datetime
    iso: str  # for <time datetime>
    time_text: str  # "09:30"
    zone_abbr: str  # "BST"
    aria_label: str  # "Book 09:30 BST, Monday 1 June"
    book_url: str


@dataclass(frozen=True)
class SlotDay:
    date: dt.date
    heading: str  # "Monday 1 June"
    slots: list[SlotChip]


# The doctor page offers free times this many days ahead.
FREE_TIMES_DAYS = 14


def doctor_free_slots(
    *, doctor: Doctor, since: dt.datetime | None, until: dt.datetime, now: dt.datetime
) -> QuerySet[Slot]:
    """The doctor's slots a patient may pick now (Slot.objects.bookable: after the booking cut-off,
    not blocked, not held) that start from `since` (None: any) and before `until`, soonest first:
    the times the doctor page, the reschedule page and the API offer."""
    slots = Slot.objects.bookable(now=now).filter(doctor=doctor, starts_at__lt=until)
    return slots if since is None else slots.filter(starts_at__gte=since)


def doctor_free_slots_by_day(
    *, doctor: Doctor, days: int = FREE_TIMES_DAYS, now: dt.datetime | None = None
) -> list[SlotDay]:
    """The doctor's free slots for the coming `days`, grouped by day in the doctor's time zone.
    The same for every viewer: whether a chip links to booking is the page's decision."""
    now = now or timezone.now()
    starts = doctor_free_slots(doctor=doctor, since=None, until=now + dt.timedelta(days=days), now=now)
    book_url = url_for_ids("appointments:book")
    zone = zoneinfo.ZoneInfo(doctor.timezone)
    local_starts = [(pk, starts_at.astimezone(zone)) for pk, starts_at in starts.values_list("pk", "starts_at")]
    slot_days = []
    for day, day_starts in groupby(local_starts, key=lambda slot: slot[1].date()):
        heading = f"{day:%A} {day.day} {day:%B}"
        chips = []
        for pk, local in day_starts:
            time_text, zone_abbr = f"{local:%H:%M}", local.tzname()
            chips.append(
                SlotChip(
                    pk=pk,
                    starts_at=local,
                    iso=local.isoformat(),
                    time_text=time_text,
                    zone_abbr=zone_abbr,
                    aria_label=f"Book {time_text} {zone_abbr}, {heading}",
                    book_url=book_url(pk),
                )
            )
        slot_days.append(SlotDay(date=day, heading=heading, slots=chips))
    return slot_days


@dataclass(frozen=True)
class ScheduleWindow:
    pk: int
    text: str  # "09:00–12:30"


@dataclass(frozen=True)
class ScheduleDay:
    weekday: str  # "Monday"
    windows: list[ScheduleWindow]


@dataclass(frozen=True)
class ScheduleTimeOff:
    pk: int
    span: str  # "Mon 7 Dec 2026 00:00 – Wed 9 Dec 2026 00:00 GMT (Europe/London)"
    reason: str
    is_now: bool  # under way


@dataclass(frozen=True)
class DoctorSchedule:
    days: list[ScheduleDay]  # every weekday, in order, with its windows (maybe none)
    time_off: list[ScheduleTimeOff]  # under way or to come, soonest first


def _time_off_span(off: TimeOff, zone: str) -> str:
    """Whole days as days ("Mon 7 Dec – Tue 8 Dec 2026, whole days (Europe/London)"), other spans
    to the minute with the zone named."""
    start, end = off.starts_at.astimezone(zoneinfo.ZoneInfo(zone)), off.ends_at.astimezone(zoneinfo.ZoneInfo(zone))
    last = (end - dt.timedelta(days=1)).date()
    if start.time() != dt.time(0) or end.time() != dt.time(0) or last < start.date():
        return format_span(off.starts_at, off.ends_at, zone)
    if last == start.date():
        return f"{start:%a} {start.day} {start:%b %Y}, whole day ({zone})"
    return f"{start:%a} {start.day} {start:%b} – {last:%a} {last.day} {last:%b %Y}, whole days ({zone})"


def doctor_schedule(*, doctor: Doctor, now: dt.datetime | None = None) -> DoctorSchedule:
    """The doctor's weekly hours by weekday and the time off not yet over: two queries."""
    now = now or timezone.now()
    windows: dict[int, list[ScheduleWindow]] = {}
    for hours in WorkingHours.objects.filter(doctor=doctor).order_by("weekday", "start_time"):
        windows.setdefault(hours.weekday, []).append(
            ScheduleWindow(hours.pk, f"{hours.start_time:%H:%M}–{hours.end_time:%H:%M}")
        )
    time_off = TimeOff.objects.filter(doctor=doctor, ends_at__gt=now).order_by("starts_at", "pk")
    return DoctorSchedule(
        days=[ScheduleDay(day.label, windows.get(day.value, [])) for day in Weekday],
        time_off=[
            ScheduleTimeOff(
                pk=off.pk,
                span=_time_off_span(off, doctor.timezone),
                reason=off.reason,
                is_now=off.starts_at <= now,
            )
            for off in time_off
        ],
    )


def user_time_zone(user) -> str:
    """The zone a user's own times are shown in: a patient's own, a doctor's, else the hospital's."""
    if user.is_patient and hasattr(user, "patient_profile"):
        return user.patient_profile.timezone
    if user.is_doctor and hasattr(user, "doctor_profile"):
        return user.doctor_profile.timezone
    return settings.HOSPITAL_TIME_ZONE
