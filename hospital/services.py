import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from hospital import page_cache, slot_holders
from hospital.models import Doctor, Rating, Slot, TimeOff, WorkingHours
from hospital.timefmt import format_moment

UTC = dt.UTC


@dataclass(frozen=True)
class SlotGenerationResult:
    created: int = 0
    removed: int = 0

    def __add__(self, other: "SlotGenerationResult") -> "SlotGenerationResult":
        return SlotGenerationResult(self.created + other.created, self.removed + other.removed)


def wall_time_to_utc(day: dt.date, wall_time: dt.time, zone: ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a local wall-clock time, or None if that time does not exist that day.

    A time skipped by a spring-forward change does not survive a round trip through UTC, so it
    gets no slot. A time that happens twice (fall back) resolves to its first occurrence
    (`fold=0`), so it gets exactly one slot.
    """
    naive = dt.datetime.combine(day, wall_time)
    aware = naive.replace(tzinfo=zone, fold=0)
    as_utc = aware.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return as_utc


def _window_starts(day: dt.date, hours: WorkingHours, step: dt.timedelta):
    """Wall-clock start times of the slots that fit whole inside one working window."""
    start = dt.datetime.combine(day, hours.start_time)
    end = dt.datetime.combine(day, hours.end_time)
    while start + step <= end:
        yield start.time()
        start += step


def _desired_slots(
    *, doctor: Doctor, first_day: dt.date, days: int, now: dt.datetime
) -> dict[dt.datetime, dt.datetime]:
    """Map of start -> end (UTC) for every slot the schedule calls for in the horizon."""
    if not doctor.is_active:
        return {}
    zone = doctor.zone
    length = dt.timedelta(minutes=doctor.slot_minutes)
    hours_by_weekday: dict[int, list[WorkingHours]] = {}
    for hours in doctor.working_hours.all():
        hours_by_weekday.setdefault(hours.weekday, []).append(hours)
    time_off = [(off.starts_at, off.ends_at) for off in doctor.time_off.all()]

    desired: dict[dt.datetime, dt.datetime] = {}
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        for hours in hours_by_weekday.get(day.weekday(), []):
            for wall_time in _window_starts(day, hours, length):
                starts_at = wall_time_to_utc(day, wall_time, zone)
                if starts_at is None or starts_at <= now:
                    continue
                ends_at = starts_at + length
                if any(starts_at < off_end and off_start < ends_at for off_start, off_end in time_off):
                    continue
                desired[starts_at] = ends_at
    return desired


def _unreferenced(slots: QuerySet[Slot]) -> QuerySet[Slot]:
    """Slots that no other row points at.

    A slot that an appointment (or any later table) refers to is part of someone's booking or
    history, so regeneration never deletes or moves it, whatever the new schedule says.
    """
    for relation in Slot._meta.related_objects:
        referencing = relation.related_model._base_manager.filter(**{relation.field.name: OuterRef("pk")})
        slots = slots.exclude(Exists(referencing))
    return slots


def _lock_doctor_schedule(doctor: Doctor) -> Doctor:
    """Lock the doctor's row for the rest of the transaction.

    Two regenerations for one doctor (an admin save racing the nightly command) would each
    compute the slots to add and remove from a stale picture; taking the row lock first makes
    them run one after the other. FOR NO KEY UPDATE, and only this row (see hospital/locks.py):
    a booking inserting an appointment that points at this doctor is never blocked by it.
    """
    return (
        Doctor.objects.select_for_update(no_key=True, of=("self",))
        .prefetch_related("working_hours", "time_off")
        .get(pk=doctor.pk)
    )


@transaction.atomic
def slots_generate(*, doctor: Doctor, days: int | None = None, now: dt.datetime | None = None) -> SlotGenerationResult:
    """Make the doctor's future slots match their schedule for the next `days` days.

    Idempotent: a second run changes nothing. Creates missing slots, removes free ones the
    schedule no longer has (hours changed, time off added), never touches past slots, slots
    beyond the horizon or slots something refers to.
    """
    days = settings.SLOT_HORIZON_DAYS if days is None else days
    now = now or timezone.now()
    doctor = _lock_doctor_schedule(doctor)
    first_day = timezone.localtime(now, doctor.zone).date()
    horizon_end = wall_time_to_utc(first_day + dt.timedelta(days=days), dt.time(0), doctor.zone) or (
        now + dt.timedelta(days=days)
    )
    desired = _desired_slots(doctor=doctor, first_day=first_day, days=days, now=now)

    in_horizon = Slot.objects.filter(doctor=doctor, starts_at__gt=now, starts_at__lt=horizon_end)
    existing = {slot.starts_at: slot for slot in in_horizon}
    stale_ids = [slot.pk for starts_at, slot in existing.items() if desired.get(starts_at) != slot.ends_at]
    # Wait for any booking holding one of these slots, so the check below sees its appointment.
    list(Slot.objects.filter(pk__in=stale_ids).order_by("pk").select_for_update(of=("self",)).values_list("pk"))
    removed, _ = _unreferenced(Slot.objects.filter(pk__in=stale_ids)).delete()
    kept = list(in_horizon.values_list("starts_at", "ends_at"))

    def clashes_with_kept(starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
        return any(starts_at < kept_end and kept_start < ends_at for kept_start, kept_end in kept)

    new_slots = [
        Slot(doctor=doctor, starts_at=starts_at, ends_at=ends_at)
        for starts_at, ends_at in sorted(desired.items())
        if not clashes_with_kept(starts_at, ends_at)
    ]
    Slot.objects.bulk_create(new_slots)
    if new_slots:
        page_cache.bump_on_commit()  # bulk_create sends no signals
    return SlotGenerationResult(created=len(new_slots), removed=removed)


def slots_generate_for_all_doctors(*, days: int | None = None, now: dt.datetime | None = None) -> SlotGenerationResult:
    total = SlotGenerationResult()
    for doctor in Doctor.objects.order_by("pk"):
        total += slots_generate(doctor=doctor, days=days, now=now)
    return total


def slots_set_blocked(*, slots: QuerySet[Slot], blocked: bool) -> int:
    changed = slots.update(is_blocked=blocked)
    page_cache.bump_on_commit()  # update() sends no signals; after it, as it runs at once outside a transaction
    return changed


def time_off_span_lock(*, doctor: Doctor, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    """Lock the doctor's schedule, then their slots in the span (the order slots_generate takes).

    A booking locks its slot before it writes its appointment, so once these locks are held every
    booking in the span has either committed (and the check that follows sees it) or waits until
    the time off and the slots it removes are in: time off never slips past a booking made meanwhile.
    """
    _lock_doctor_schedule(doctor)
    in_span = Slot.objects.filter(doctor=doctor, starts_at__lt=ends_at, ends_at__gt=starts_at)
    list(in_span.order_by("pk").select_for_update(of=("self",)).values_list("pk"))


def time_off_validate(*, doctor: Doctor, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    """Refuse time off over a visit that holds its slot, naming each one in the doctor's zone.

    Slot generation would drop the time from the schedule while the visit stays booked, so the
    patient would come to a doctor who is away. Visits are learnt through `slot_holders`: they
    belong to an app above this one. Any page that adds or moves time off (admin, doctor portal)
    calls this inside the transaction that saves it: it takes the span's locks first.
    """
    time_off_span_lock(doctor=doctor, starts_at=starts_at, ends_at=ends_at)
    visits = slot_holders.booked_between(doctor_id=doctor.pk, starts_at=starts_at, ends_at=ends_at)
    if visits:
        raise ValidationError(
            [
                "This time off covers booked visits; cancel or move them first:",
                *(
                    f"{format_moment(visit.starts_at, doctor.timezone)}: {visit.patient_name}, {visit.status_label}"
                    for visit in visits
                ),
            ]
        )


def doctor_rating_add(*, doctor_id: int, rating: int) -> None:
    """Count one more patient rating in the doctor's totals.

    Runs inside the caller's transaction (appointments.services.review_submit, which writes the
    review beside it), so the totals always equal the reviews. One UPDATE adding to the stored
    values: concurrent reviews of one doctor queue on the row and none is lost. Its row lock (FOR
    NO KEY UPDATE) never conflicts with a booking, whose new appointment only key-shares the row.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("doctor_rating_add must run inside the transaction that records the review.")
    if rating not in Rating.values:
        raise ValueError(f"A rating is one of {Rating.values}, not {rating!r}.")
    Doctor.objects.filter(pk=doctor_id).update(review_count=F("review_count") + 1, rating_sum=F("rating_sum") + rating)
    page_cache.bump_on_commit()  # update() sends no signals; the directory and the doctor page show the totals


@transaction.atomic
def time_off_add(*, doctor: Doctor, starts_at: dt.datetime, ends_at: dt.datetime, reason: str = "") -> TimeOff:
    """Time off for the doctor, refused over a booked visit; the slots it covers go at once."""
    if ends_at <= starts_at:
        raise ValidationError("The end must be after the start.")
    time_off_validate(doctor=doctor, starts_at=starts_at, ends_at=ends_at)
    time_off = TimeOff.objects.create(doctor=doctor, starts_at=starts_at, ends_at=ends_at, reason=reason)
    slots_generate(doctor=doctor)
    # Slots that a canceled or lapsed booking still refers to survive regeneration: blocked, so
    # nobody books the doctor while they are away.
    slots_set_blocked(
        slots=Slot.objects.filter(doctor=doctor, starts_at__lt=ends_at, ends_at__gt=starts_at, is_blocked=False),
        blocked=True,
    )
    return time_off


@transaction.atomic
def time_off_remove(*, time_off: TimeOff) -> None:
    """The time off goes, and the schedule's slots come back in its span."""
    time_off.delete()
    slots_generate(doctor=time_off.doctor)


def working_hours_validate(
    *, doctor: Doctor, weekday: int, start_time: dt.time, end_time: dt.time, exclude_pk: int | None = None
) -> None:
    """Refuse a weekly window that overlaps another of the doctor's (admin and doctor portal)."""
    window = WorkingHours(doctor=doctor, weekday=weekday, start_time=start_time, end_time=end_time)
    others = WorkingHours.objects.filter(doctor=doctor, weekday=weekday).exclude(pk=exclude_pk)
    clash = next((other for other in others if window.overlaps(other)), None)
    if clash:
        raise ValidationError(f"These hours overlap the existing window {clash}.")


@transaction.atomic
def working_hours_add(*, doctor: Doctor, weekday: int, start_time: dt.time, end_time: dt.time) -> WorkingHours:
    """A weekly window in the doctor's local time; the slots it opens are generated at once."""
    if end_time <= start_time:
        raise ValidationError("The end time must be after the start time.")
    _lock_doctor_schedule(doctor)  # two windows added at once must not both pass the overlap check
    working_hours_validate(doctor=doctor, weekday=weekday, start_time=start_time, end_time=end_time)
    hours = WorkingHours.objects.create(doctor=doctor, weekday=weekday, start_time=start_time, end_time=end_time)
    slots_generate(doctor=doctor)
    return hours


@transaction.atomic
def working_hours_remove(*, hours: WorkingHours) -> None:
    """The window goes; its free slots go with it (booked ones stay: see slots_generate)."""
    hours.delete()
    slots_generate(doctor=hours.doctor)
