import datetime as dt
from dataclasses import dataclass
from itertools import groupby

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from hospital.models import Doctor, Slot, Specialty


def doctor_directory(
    *, search: str = "", specialty: Specialty | None = None, now: dt.datetime | None = None
) -> QuerySet[Doctor]:
    """Listed doctors matching the filters, each with the start of their next free slot.

    One query for the whole page however many doctors or slots there are: the next free slot
    is a correlated subquery, not a query per doctor.
    """
    now = now or timezone.now()
    next_free = Slot.objects.bookable(now=now).filter(doctor=OuterRef("pk")).order_by("starts_at")
    doctors = (
        Doctor.objects.filter(is_active=True)
        .select_related("user", "specialty")
        .annotate(next_free_slot_at=Subquery(next_free.values("starts_at")[:1]))
        .order_by("user__last_name", "user__first_name", "pk")
    )
    if specialty is not None:
        doctors = doctors.filter(specialty=specialty)
    for word in search.split():
        doctors = doctors.filter(Q(user__first_name__icontains=word) | Q(user__last_name__icontains=word))
    return doctors


def specialties_with_doctors() -> QuerySet[Specialty]:
    return Specialty.objects.annotate(doctor_count=Count("doctors", filter=Q(doctors__is_active=True))).filter(
        doctor_count__gt=0
    )


@dataclass(frozen=True)
class SlotDay:
    date: dt.date
    slots: list[Slot]


def doctor_free_slots_by_day(*, doctor: Doctor, days: int = 14, now: dt.datetime | None = None) -> list[SlotDay]:
    """The doctor's free slots for the coming `days`, grouped by day in the doctor's time zone."""
    now = now or timezone.now()
    slots = list(Slot.objects.bookable(now=now).filter(doctor=doctor, starts_at__lt=now + dt.timedelta(days=days)))
    zone = doctor.zone
    return [
        SlotDay(date=day, slots=list(day_slots))
        for day, day_slots in groupby(slots, key=lambda slot: timezone.localtime(slot.starts_at, zone).date())
    ]
