"""Demo visits today, so each doctor's portal has a day to run: two completed, one in progress and
three confirmed, all paid, on the doctor's own calendar; the visits under way or over have their
notes, and most doctors' first visit of the day has its patient's rating.

Here and not in hospital.demo: a visit is an appointment with its payment, and hospital may not
import the apps above it. Bookings are made directly in the state the payment flow leaves (as the
tests' `visit()` factory does): replaying Checkout for demo data would need Stripe. From there the
doctor's own services take them on (start, note, complete, rating), as the portal would. Each
paid visit gets its receipt from the receipts service, so the demo's numbers are the real sequence.

Idempotent: a doctor who already has a visit today keeps their day as it is.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from appointments import visit_place
from appointments.models import Appointment, AppointmentLogEntry, AppointmentStatus
from appointments.services import appointment_complete, appointment_start, review_submit, visit_note_save_draft
from hospital import timefmt
from hospital.demo import DEMO_PATIENT_EMAIL, PATIENTS
from hospital.models import Doctor, Slot
from payments.models import Payment
from payments.services import payment_documents_issue

S = AppointmentStatus
# The day around now, one slot after the other: the visit under way is the one before the
# current slot, so the current one is ready to start.
DAY_PLAN = (S.COMPLETED, S.COMPLETED, S.IN_PROGRESS, S.CONFIRMED, S.CONFIRMED, S.CONFIRMED)
IN_PROGRESS_INDEX = DAY_PLAN.index(S.IN_PROGRESS)
REASONS = (
    "Follow-up on last month's blood test results.",
    "Recurring headaches in the afternoon, worse this week.",
    "Check-up before starting a new exercise programme.",
    "Rash on both forearms for ten days; antihistamines have not helped.",
    "",
    "Second opinion on the treatment plan from my previous doctor.",
)
NOTES = (
    "Bloods reviewed with the patient: HbA1c 41, lipids within range. Continue current plan; repeat in six months.",
    "Tension-type headache most likely; no red flags on history or examination. Advised sleep and screen breaks.",
    "Fit for moderate exercise. Blood pressure 124/78. Start gradually; review if chest pain or breathlessness.",
    "Contact dermatitis suspected on both forearms. Emollient and a short course of topical steroid.",
    "",
    "Previous plan reviewed; agree with it. Letter to follow for the referring doctor.",
)
# The patient's rating of each doctor's first visit of the day (none for the last doctor, so the
# directory shows a doctor without reviews too).
RATINGS = ((5, "Listened carefully and explained everything."), (4, ""), (5, "Very kind, on time."), (3, ""))


def _day_times(doctor: Doctor, *, now: dt.datetime) -> list[dt.datetime]:
    """Start times for DAY_PLAN, one slot length apart from the start of the doctor's day (on a
    day the clocks change, counted in real time, so no time is skipped or doubled): around now
    where the day allows, kept inside today near its ends (the statuses then run ahead of or
    behind the clock; a demo still shows every kind of row)."""
    length = dt.timedelta(minutes=doctor.slot_minutes)
    today = timefmt.local(now, doctor.timezone).date()
    day_start = timefmt.day_start(today, doctor.timezone)
    slots_today = (timefmt.day_start(today + dt.timedelta(days=1), doctor.timezone) - day_start) // length
    first = min(max((now - day_start) // length - IN_PROGRESS_INDEX - 1, 0), slots_today - len(DAY_PLAN))
    return [day_start + index * length for index in range(first, first + len(DAY_PLAN))]


def demo_free_slot(doctor: Doctor, starts_at: dt.datetime, *, now: dt.datetime) -> Slot | None:
    """The doctor's slot at `starts_at` (made if missing), or None when something holds it or
    another slot overlaps it."""
    ends_at = starts_at + dt.timedelta(minutes=doctor.slot_minutes)
    overlapping = Slot.objects.filter(doctor=doctor, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if overlapping.exclude(starts_at=starts_at).exists():
        return None
    slot, _ = Slot.objects.get_or_create(doctor=doctor, starts_at=starts_at, defaults={"ends_at": ends_at})
    if Appointment.objects.holding_slot(now=now).filter(slot=slot).exists():
        return None
    return slot


def demo_paid_visit(
    *,
    doctor: Doctor,
    slot: Slot,
    patient: User,
    reason: str,
    booked_at: dt.datetime,
    payment_intent_id: str | None = None,
) -> Appointment:
    """A confirmed visit, paid at `booked_at` with its receipt, as the payment flow leaves one."""
    appointment = Appointment.objects.create(
        patient=patient,
        doctor=doctor,
        slot=slot,
        status=S.CONFIRMED,
        fee_amount=doctor.fee_amount,
        fee_currency=doctor.fee_currency,
        reason=reason,
        **visit_place.snapshot(doctor),  # where it takes place, as a booking copies it
    )
    # Booked when paid, not when seeded (created_at is set on insert): pages print both.
    Appointment.objects.filter(pk=appointment.pk).update(created_at=booked_at)
    payment = Payment.for_booking(
        appointment, captured_amount=doctor.fee_amount, paid_at=booked_at, payment_intent_id=payment_intent_id
    )
    payment.status = payment.derived_status()
    payment.save()
    payment_documents_issue(payment=payment, now=booked_at)  # its receipt, numbered as the webhook would
    AppointmentLogEntry.objects.create(
        appointment=appointment,
        at=booked_at,
        status=S.CONFIRMED,
        message="Payment received; the appointment is confirmed.",
    )
    return appointment


def _visit(*, doctor: Doctor, slot: Slot, patient: User, status: str, reason: str, note: str, now: dt.datetime) -> None:
    booked_at = min(now, slot.starts_at) - dt.timedelta(days=3)
    appointment = demo_paid_visit(doctor=doctor, slot=slot, patient=patient, reason=reason, booked_at=booked_at)
    if status in (S.IN_PROGRESS, S.COMPLETED):
        appointment_start(appointment_id=appointment.pk, doctor=doctor.user, now=slot.starts_at)
        if note:
            visit_note_save_draft(
                appointment_id=appointment.pk,
                doctor=doctor.user,
                text=note,
                now=slot.starts_at + dt.timedelta(minutes=5),
            )
    if status == S.COMPLETED:
        appointment_complete(appointment_id=appointment.pk, doctor=doctor.user, now=slot.ends_at)


@transaction.atomic
def demo_visits_seed(*, now: dt.datetime | None = None) -> int:
    """Today's visits with the demo patients for every listed doctor who has none today yet
    (after hospital.demo.demo_seed); returns how many were made."""
    now = now or timezone.now()
    patients = list(User.objects.filter(email__in=[email for email, *_ in PATIENTS]).order_by("email"))
    made = 0
    doctors = list(Doctor.objects.filter(is_active=True).select_related("user").order_by("pk"))
    for doctor_index, doctor in enumerate(doctors):
        today = timefmt.local(now, doctor.timezone).date()
        day_start = timefmt.day_start(today, doctor.timezone)
        day_end = timefmt.day_start(today + dt.timedelta(days=1), doctor.timezone)
        if Appointment.objects.filter(
            doctor=doctor, slot__starts_at__gte=day_start, slot__starts_at__lt=day_end
        ).exists():
            continue
        for index, (status, starts_at) in enumerate(zip(DAY_PLAN, _day_times(doctor, now=now), strict=True)):
            slot = demo_free_slot(doctor, starts_at, now=now)
            if slot is None:
                continue
            patient = patients[(doctor.pk + index) % len(patients)]
            _visit(
                doctor=doctor,
                slot=slot,
                patient=patient,
                status=status,
                reason=REASONS[index],
                note=NOTES[index],
                now=now,
            )
            made += 1
        if doctor_index < len(doctors) - 1:
            _rate_first_visit(doctor, rating=RATINGS[doctor_index % len(RATINGS)], day=(day_start, day_end))
    return made


def _rate_first_visit(doctor: Doctor, *, rating: tuple[int, str], day: tuple[dt.datetime, dt.datetime]) -> None:
    """The doctor's first completed visit of the day, rated by its patient, unless that is the demo
    patient: whoever logs in as them finds the rating form still open."""
    first = (
        Appointment.objects.filter(doctor=doctor, status=S.COMPLETED, slot__starts_at__range=day)
        .exclude(patient__email=DEMO_PATIENT_EMAIL)
        .order_by("slot__starts_at")
        .first()
    )
    if first is not None:
        review_submit(patient=first.patient, appointment_id=first.pk, rating=rating[0], comment=rating[1])
