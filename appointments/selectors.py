import datetime as dt
from collections.abc import Sequence

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.access import get_for_user_or_404
from appointments.models import Appointment, AppointmentStatus
from hospital.slot_holders import BookedVisit

_ORDERINGS = {
    "soonest": ["slot__starts_at"],
    "latest": ["-slot__starts_at"],
    "booked": ["-created_at"],
}


def default_sort(*, when: str) -> str:
    """Upcoming visits read soonest first; past ones latest first."""
    return "latest" if when == "past" else "soonest"


def _still_to_come(*, now: dt.datetime) -> Q:
    """A visit the patient may still go to: a hold still being paid for, a confirmed visit until its
    slot ends, and one under way until the doctor completes it (it may run over). Everything else
    (completed, no-show, canceled, expired, a lapsed hold, a confirmed slot that has ended) is past."""
    return (
        Q(status=AppointmentStatus.PENDING_PAYMENT, hold_expires_at__gt=now)
        | Q(status=AppointmentStatus.CONFIRMED, slot__ends_at__gt=now)
        | Q(status=AppointmentStatus.IN_PROGRESS)
    )


def appointments_for_patient(
    *,
    user,
    when: str = "upcoming",
    status: str = "",
    payment_statuses: Sequence[str] = (),
    sort: str = "",
    now: dt.datetime | None = None,
) -> QuerySet[Appointment]:
    """The patient's appointments for the list page, with what each row shows in one query.

    "Upcoming" and "past" split every appointment in two; `payment_statuses` is any of them."""
    now = now or timezone.now()
    appointments = Appointment.objects.visible_to(user).filter(patient=user)
    if when == "past":
        appointments = appointments.exclude(_still_to_come(now=now))
    else:
        appointments = appointments.filter(_still_to_come(now=now))
    if status:
        appointments = appointments.filter(status=status)
    if payment_statuses:
        appointments = appointments.filter(payment__status__in=payment_statuses)
    return appointments.select_related("doctor__user", "doctor__specialty", "slot", "payment").order_by(
        *_ORDERINGS.get(sort or default_sort(when=when)), "pk"
    )


def appointment_for_user(*, user, pk: int) -> Appointment:
    """One appointment the user may act on, with its payment; someone else's is a 404."""
    return get_for_user_or_404(Appointment.objects.select_related("payment"), user=user, pk=pk)


def appointment_detail(*, user, pk: int) -> Appointment:
    """One appointment as its detail page shows it; someone else's is a 404."""
    return get_for_user_or_404(
        Appointment.objects.select_related("doctor__user", "doctor__specialty", "slot", "payment").prefetch_related(
            "log_entries", "payment__refunds"
        ),
        user=user,
        pk=pk,
    )


def patient_hold_on_slot(*, user, slot_id: int, now: dt.datetime | None = None) -> Appointment | None:
    """The patient's own live (unpaid, not lapsed) hold on a slot, if any."""
    now = now or timezone.now()
    return Appointment.objects.filter(patient=user, slot_id=slot_id).live_holds(now=now).first()


def visits_booked_between(*, doctor_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> list[BookedVisit]:
    """Visits of a doctor in a time range that a schedule change must not drop silently: confirmed
    or under way, and holds still being paid for (their money may yet arrive)."""
    now = timezone.now()
    booked = (
        Appointment.objects.filter(doctor_id=doctor_id, slot__starts_at__lt=ends_at, slot__ends_at__gt=starts_at)
        .filter(
            Q(status__in=(AppointmentStatus.CONFIRMED, AppointmentStatus.IN_PROGRESS))
            | Q(hold_expires_at__gt=now, status=AppointmentStatus.PENDING_PAYMENT)
        )
        .select_related("patient", "slot")
        .order_by("slot__starts_at")
    )
    return [
        BookedVisit(
            starts_at=appointment.slot.starts_at,
            patient_name=appointment.patient.get_full_name() or appointment.patient.email,
            status_label=appointment.get_status_display(),
        )
        for appointment in booked
    ]
