"""What holds a slot, told to the hospital app by the apps above it.

Slots are the hospital's; what keeps one from other patients (an appointment awaiting payment,
confirmed, under way) is decided by the appointments app, which sits above hospital and may not
be imported from here. It registers its answers at start-up (its AppConfig.ready), so hospital's
own reads ("is this slot free?", "what is booked during this time off?") ask through this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import QuerySet


@dataclass(frozen=True)
class BookedVisit:
    """A booked visit as the hospital's rules need to name it, e.g. in an admin error."""

    starts_at: dt.datetime
    patient_name: str
    status_label: str


@dataclass(frozen=True)
class SlotHolder:
    # Rows with a `slot` foreign key that keep their slot from others at `now`.
    holding: Callable[[dt.datetime], QuerySet]
    # Visits of one doctor that a schedule change must not silently drop, starting in [starts_at, ends_at).
    booked_between: Callable[..., Iterable[BookedVisit]]
    # The first moment after `now` at which one of `slots` stops being held by time alone (a
    # payment hold running out), or None: nothing is written then, so caches must expire by it.
    next_release: Callable[..., dt.datetime | None]


_holders: list[SlotHolder] = []


def register(
    *,
    holding: Callable[[dt.datetime], QuerySet],
    booked_between: Callable[..., Iterable[BookedVisit]],
    next_release: Callable[..., dt.datetime | None],
):
    _holders.append(SlotHolder(holding=holding, booked_between=booked_between, next_release=next_release))


def holding_querysets(*, now: dt.datetime) -> list[QuerySet]:
    return [holder.holding(now) for holder in _holders]


def booked_between(*, doctor_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> list[BookedVisit]:
    visits = [
        visit
        for holder in _holders
        for visit in holder.booked_between(doctor_id=doctor_id, starts_at=starts_at, ends_at=ends_at)
    ]
    return sorted(visits, key=lambda visit: visit.starts_at)


def next_release(*, now: dt.datetime, slots: QuerySet) -> dt.datetime | None:
    times = [at for holder in _holders if (at := holder.next_release(now=now, slots=slots)) is not None]
    return min(times, default=None)
