"""Demo money history: about six months of paid visits for six doctors in four currencies, so the
money dashboard, the staff money panel, receipts and credit notes and the payments list have
something real to show; and visits still to come for the demo patients.

Most visits were completed, some were missed, and a few carry the money stories staff meet: a
patient canceling at 50 % and one at 100 % (by the policy copied at booking), a doctor canceling
(in full, saying why), billing staff giving back part of a completed visit's fee, a refund made in
Stripe's Dashboard, and an open card dispute with its evidence deadline.

Each step goes through the service a person's click (or Stripe's event) would reach, at the moment
it happened (`now=`), so statuses are derived, receipt and credit-note numbers follow the order of
issue without a gap, and the timeline reads as it would have. What cannot happen at seed time is
talking to Stripe: nothing is listening yet, and the stand-in keeps nothing across restarts. So the
bookings are made as payments/demo.py makes today's (in the state Checkout leaves), with made-up but
well-formed Stripe ids (`pi_demo_…`), which refunds and disputes are keyed by; and where our refund
worker would call Stripe, Stripe's answer is recorded instead, through the facts service that
records the worker's answer and refund.* events (payments.services.facts.refund_record): the refund
as Stripe reports it, succeeded, with our id in its metadata. The worker's queued task then finds
the refund done and does nothing. Rows the services stamp with the seeding time (a refund's
`created_at`, which the dashboard counts by) are moved to the moment they stand for, as
payments/demo.py does for a booking's `created_at`.

Not Dr Adeyemi, Dr Kim or Dr Tanaka: the portal's browser tests build Dr Tanaka's weeks themselves,
and two quiet doctors keep the dashboard's per-doctor view honest about doctors with little money.

Idempotent: once any payment carries a demo Stripe id, the history is there and is left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from appointments.models import Appointment
from appointments.services import appointment_complete, appointment_mark_no_show, appointment_start
from hospital import timefmt
from hospital.demo import DEMO_PATIENT_EMAIL, PATIENTS, STAFF
from hospital.models import Doctor
from payments.demo import REASONS, demo_free_slot, demo_paid_visit
from payments.models import Payment, Refund
from payments.services import appointment_cancel, dispute_record, payment_refund, refund_record
from payments.stripe_objects import METADATA_PAYMENT, METADATA_REFUND

DEMO_STRIPE_PREFIX = "pi_demo_"
HISTORY_DOCTORS = ("Okafor", "Whitfield", "Fischer", "Marquez", "Bell", "Raman")  # by last name
HISTORY_DAYS = 180
DAYS_BETWEEN_VISITS = 7  # per doctor; each doctor's visits are staggered by a day from the last's


class Story:
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    PATIENT_CANCELS_LATE = "patient_cancels_late"  # 5 h before: 50 % back
    PATIENT_CANCELS_EARLY = "patient_cancels_early"  # 3 days before: all back
    DOCTOR_CANCELS = "doctor_cancels"
    STAFF_REFUNDS_PART = "staff_refunds_part"
    DASHBOARD_REFUND = "dashboard_refund"
    DISPUTED = "disputed"
    UPCOMING = "upcoming"


# (doctor, how many visits back from the most recent): the visit that tells a story of its own.
STORIES = {
    ("Whitfield", 6): Story.PATIENT_CANCELS_LATE,
    ("Fischer", 10): Story.PATIENT_CANCELS_EARLY,
    ("Marquez", 3): Story.DOCTOR_CANCELS,
    ("Okafor", 14): Story.STAFF_REFUNDS_PART,
    ("Bell", 5): Story.DASHBOARD_REFUND,
    ("Raman", 2): Story.DISPUTED,
}
# Who tells them: the demo patient has the late cancellation, so their own pages show a 50 % refund.
STORY_PATIENTS = {Story.PATIENT_CANCELS_LATE: DEMO_PATIENT_EMAIL}
NO_SHOW_EVERY = 10  # one visit in ten (of those without a story) was missed

# Visits still to come: (doctor, patient, at least this many days ahead). The demo patient's are
# more than 24 h ahead, so canceling at 100 % and rescheduling can be tried; not Dr Okafor, whose
# conference (hospital.demo) moves with the day the demo is seeded.
UPCOMING = (
    ("Whitfield", DEMO_PATIENT_EMAIL, 4),
    ("Marquez", DEMO_PATIENT_EMAIL, 11),
    ("Fischer", "sam.taylor@example.com", 6),
    ("Raman", "jordan.lee@example.com", 8),
)

DOCTOR_CANCEL_NOTE = "Dr Marquez has been called away at short notice; please book another time with us."
STAFF_REFUND_NOTE = "The clinic ran 70 minutes late; a third of the fee back, as agreed on the phone."


@dataclass(frozen=True)
class PlannedVisit:
    doctor: Doctor
    patient: User
    starts_at: dt.datetime
    story: str
    reason: str
    booked_at: dt.datetime


def _booked_at(starts_at: dt.datetime, *, now: dt.datetime) -> dt.datetime:
    """Paid six to ten days before the visit, and at least four days before today's seeding (so
    before today's visits, which were paid three days ago)."""
    return min(starts_at - dt.timedelta(days=6 + starts_at.day % 5), now - dt.timedelta(days=4))


@transaction.atomic
def demo_history_seed(*, now: dt.datetime | None = None) -> int:
    """The money history and the visits to come (after hospital.demo.demo_seed, before today's
    visits, so receipt numbers follow the order of payment); returns how many visits were made."""
    now = now or timezone.now()
    if Payment.objects.filter(payment_intent_id__startswith=DEMO_STRIPE_PREFIX).exists():
        return 0
    doctors = {
        d.user.last_name: d for d in Doctor.objects.filter(user__last_name__in=HISTORY_DOCTORS).select_related("user")
    }
    patients = {user.email: user for user in User.objects.filter(email__in=[email for email, *_ in PATIENTS])}
    staff = User.objects.get(email=STAFF[0])
    plan = _past_visits(doctors, patients, now=now) + _upcoming_visits(doctors, patients, now=now)
    # Every booking first, in the order they were paid (receipt numbers), then what happened after,
    # in the order it happened (credit notes).
    steps: list[tuple[dt.datetime, Callable[[], None]]] = []
    made = 0
    for planned in sorted(plan, key=lambda planned: planned.booked_at):
        slot = demo_free_slot(planned.doctor, planned.starts_at, now=now)
        if slot is None:
            continue
        appointment = demo_paid_visit(
            doctor=planned.doctor,
            slot=slot,
            patient=planned.patient,
            reason=planned.reason,
            booked_at=planned.booked_at,
            payment_intent_id=f"{DEMO_STRIPE_PREFIX}{slot.pk:08d}",
        )
        steps += _story_steps(appointment, planned, staff=staff, now=now)
        made += 1
    for _at, step in sorted(steps, key=lambda timed: timed[0]):
        step()
    return made


def _working_starts(doctor: Doctor, day: dt.date) -> list[dt.datetime]:
    """The first three slot starts of the doctor's first window on `day` (their own clock), or []
    when they do not work that day."""
    window = next((hours for hours in doctor.working_hours.all() if hours.weekday == day.weekday()), None)
    if window is None:
        return []
    first = dt.datetime.combine(day, window.start_time, tzinfo=doctor.zone)
    return [first + index * dt.timedelta(minutes=doctor.slot_minutes) for index in range(3)]


def _working_day(doctor: Doctor, day: dt.date, *, step: int) -> tuple[dt.date, list[dt.datetime]]:
    """`day`, or the nearest day the doctor works going `step` (-1 back, +1 ahead)."""
    while not (starts := _working_starts(doctor, day)):
        day += dt.timedelta(days=step)
    return day, starts


def _past_visits(doctors: dict[str, Doctor], patients: dict[str, User], *, now: dt.datetime) -> list[PlannedVisit]:
    plan = []
    by_email = sorted(patients)
    for doctor_index, name in enumerate(HISTORY_DOCTORS):
        doctor = doctors[name]
        today = timefmt.local(now, doctor.timezone).date()
        for back in range(HISTORY_DAYS // DAYS_BETWEEN_VISITS):
            target = today - dt.timedelta(days=4 + doctor_index + back * DAYS_BETWEEN_VISITS)
            day, starts = _working_day(doctor, target, step=-1)
            if (today - day).days > HISTORY_DAYS:
                break
            story = STORIES.get((name, back)) or (
                Story.NO_SHOW if (doctor_index + back) % NO_SHOW_EVERY == NO_SHOW_EVERY - 1 else Story.COMPLETED
            )
            email = STORY_PATIENTS.get(story) or by_email[(doctor_index + back) % len(by_email)]
            starts_at = starts[(doctor_index + back) % len(starts)].astimezone(dt.UTC)
            plan.append(
                PlannedVisit(
                    doctor=doctor,
                    patient=patients[email],
                    starts_at=starts_at,
                    story=story,
                    reason=REASONS[(doctor_index + back) % len(REASONS)],
                    booked_at=_booked_at(starts_at, now=now),
                )
            )
    return plan


def _upcoming_visits(doctors: dict[str, Doctor], patients: dict[str, User], *, now: dt.datetime) -> list[PlannedVisit]:
    plan = []
    for index, (name, email, days_ahead) in enumerate(UPCOMING):
        doctor = doctors[name]
        today = timefmt.local(now, doctor.timezone).date()
        _day, starts = _working_day(doctor, today + dt.timedelta(days=days_ahead), step=1)
        starts_at = starts[1].astimezone(dt.UTC)
        plan.append(
            PlannedVisit(
                doctor=doctor,
                patient=patients[email],
                starts_at=starts_at,
                story=Story.UPCOMING,
                reason=REASONS[index % len(REASONS)],
                booked_at=_booked_at(starts_at, now=now),
            )
        )
    return plan


def _story_steps(
    appointment: Appointment, planned: PlannedVisit, *, staff: User, now: dt.datetime
) -> list[tuple[dt.datetime, Callable[[], None]]]:
    """What happened to one booked visit after it was paid: (when, the service call)."""
    doctor, start = planned.doctor.user, planned.starts_at
    end = start + dt.timedelta(minutes=planned.doctor.slot_minutes)
    pk = appointment.pk

    def complete() -> None:
        appointment_start(appointment_id=pk, doctor=doctor, now=start)
        appointment_complete(appointment_id=pk, doctor=doctor, now=end)

    def cancel(by: User, *, at: dt.datetime, note: str = "") -> Callable[[], None]:
        def step() -> None:
            appointment_cancel(appointment_id=pk, by=by, note=note, now=at)
            _stripe_refunds(Refund.objects.get(payment__appointment_id=pk), requested_at=at)

        return step

    def staff_refund() -> None:
        at = end + dt.timedelta(days=2, hours=3)
        payment = Payment.objects.get(appointment_id=pk)
        refund = payment_refund(
            payment_id=payment.pk, amount=payment.amount // 3, note=STAFF_REFUND_NOTE, by=staff, now=at
        )
        _stripe_refunds(refund, requested_at=at)

    def dashboard_refund() -> None:
        payment = Payment.objects.get(appointment_id=pk)
        at = end + dt.timedelta(days=5)
        refund_id = f"re_demo_dashboard_{payment.pk:08d}"
        refund_record(refund=_refund_object(payment, refund_id, payment.amount // 4, at), now=at)
        # Recorded when Stripe told us, which is when the dashboard counts it.
        Refund.objects.filter(stripe_refund_id=refund_id).update(created_at=at)

    def dispute() -> None:
        payment = Payment.objects.get(appointment_id=pk)
        opened = now - dt.timedelta(days=6)
        dispute_record(dispute=_dispute_object(payment, opened=opened, due_by=now + dt.timedelta(days=15)), now=opened)

    if planned.story == Story.UPCOMING:
        return []
    if planned.story == Story.PATIENT_CANCELS_LATE:
        return [(start - dt.timedelta(hours=5), cancel(planned.patient, at=start - dt.timedelta(hours=5)))]
    if planned.story == Story.PATIENT_CANCELS_EARLY:
        return [(start - dt.timedelta(days=3), cancel(planned.patient, at=start - dt.timedelta(days=3)))]
    if planned.story == Story.DOCTOR_CANCELS:
        at = start - dt.timedelta(days=2)
        return [(at, cancel(doctor, at=at, note=DOCTOR_CANCEL_NOTE))]
    if planned.story == Story.NO_SHOW:
        return [
            (
                start,
                lambda: appointment_mark_no_show(
                    appointment_id=pk, doctor=doctor, now=start + dt.timedelta(minutes=15)
                ),
            )
        ]
    steps = [(start, complete)]
    if planned.story == Story.STAFF_REFUNDS_PART:
        steps.append((end + dt.timedelta(days=2), staff_refund))
    elif planned.story == Story.DASHBOARD_REFUND:
        steps.append((end + dt.timedelta(days=5), dashboard_refund))
    elif planned.story == Story.DISPUTED:
        steps.append((now - dt.timedelta(days=6), dispute))
    return steps


def _stripe_refunds(refund: Refund, *, requested_at: dt.datetime) -> None:
    """Stripe's answer to our refund worker, a minute after the refund was asked for: it went
    through. Recorded by the service that records the worker's answer and refund.* events."""
    Refund.objects.filter(pk=refund.pk).update(created_at=requested_at)
    at = requested_at + dt.timedelta(minutes=1)
    stripe_refund = _refund_object(refund.payment, f"re_demo_{refund.pk:08d}", refund.amount, at)
    stripe_refund["metadata"] = {METADATA_REFUND: str(refund.pk), METADATA_PAYMENT: str(refund.payment_id)}
    refund_record(refund=stripe_refund, now=at)


def _refund_object(payment: Payment, refund_id: str, amount: int, at: dt.datetime) -> dict:
    """A succeeded refund of the payment's charge, shaped as Stripe sends it."""
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "currency": payment.currency,
        "charge": _charge_id(payment),
        "payment_intent": payment.payment_intent_id,
        "status": "succeeded",
        "created": int(at.timestamp()),
        "metadata": {},
    }


def _dispute_object(payment: Payment, *, opened: dt.datetime, due_by: dt.datetime) -> dict:
    """A chargeback the patient's bank opened, waiting for our evidence, as Stripe sends it."""
    return {
        "id": f"dp_demo_{payment.pk:08d}",
        "object": "dispute",
        "amount": payment.captured_amount,
        "currency": payment.currency,
        "charge": _charge_id(payment),
        "payment_intent": payment.payment_intent_id,
        "status": "needs_response",
        "reason": "fraudulent",
        "created": int(opened.timestamp()),
        "evidence_details": {"due_by": int(due_by.timestamp()), "has_evidence": False, "submission_count": 0},
        "livemode": False,
    }


def _charge_id(payment: Payment) -> str:
    return payment.payment_intent_id.replace("pi_", "ch_", 1)
