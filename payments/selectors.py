"""Reads of the payments app: which of our rows a Stripe object is about.

Objects are matched by what Stripe itself links them with (session id, payment intent, charge).
Our ids in `metadata` are a fallback, trusted only when they agree with those links, the amount,
the currency and the Stripe Customer (the patient's own, which our sessions always set): anyone
with access to the Stripe account, or another integration on it, can write any metadata, and a
signed event naming another patient's payment must change nothing of theirs. Metadata that
names one of our rows and disagrees raises UnusableStripeObject, so the event is recorded for
staff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import Http404
from djstripe.models import Charge

from accounts.models import Role, User
from appointments.models import CANCEL_PERMISSION, Appointment, AppointmentStatus
from hospital import timefmt
from hospital.money import format_money
from payments.models import (
    CANCELLATION_REFUND_REASONS,
    REFUND_PERMISSION,
    SEES_MONEY_PERMISSION,
    CheckoutAttempt,
    CheckoutAttemptStatus,
    DisputeStatus,
    Payment,
    PolicyTerms,
    Refund,
    RefundReason,
    RefundStatus,
    StripeCustomer,
)
from payments.patient_labels import payment_statuses_shown_as
from payments.stripe_objects import (
    METADATA_APPOINTMENT,
    METADATA_PAYMENT,
    METADATA_REFUND,
    UnusableStripeObject,
    id_of,
    metadata_int,
)


def payment_id_for_intent(payment_intent_id: str | None) -> int | None:
    if not payment_intent_id:
        return None
    return Payment.objects.filter(payment_intent_id=payment_intent_id).values_list("pk", flat=True).first()


def payment_id_for_intent_or_duplicate(payment_intent_id: str | None) -> int | None:
    """The payment holding the intent, else the payment whose second payment it was (a second
    session of one booking paid too): we know that intent by the refund that gives it back."""
    found = payment_id_for_intent(payment_intent_id)
    if found or not payment_intent_id:
        return found
    return (
        Refund.objects.filter(
            payment_intent_id=payment_intent_id, reason=RefundReason.DUPLICATE_PAYMENT, payment__isnull=False
        )
        .values_list("payment_id", flat=True)
        .first()
    )


def payment_for(obj: dict, *, payment_intent_id: str | None = None, amount: int | None = None) -> int | None:
    """Which of our payments a Stripe object is about: by the payment intent we recorded, else by
    our id in its metadata when it agrees: the same currency and appointment (and amount, when
    given), the patient's own Stripe Customer (our sessions always set it, and metadata alone is
    no link), and a payment not yet tied to another payment intent. Before we record a capture the
    intent is unknown to us (charge.refunded may come before checkout.session.completed, a failed
    card attempt before any success), hence the fallback."""
    found = payment_id_for_intent_or_duplicate(payment_intent_id)
    if found:
        return found
    ours = metadata_int(obj, METADATA_PAYMENT)
    if ours is None:
        return None
    payment = Payment.objects.filter(pk=ours).first()
    disagreement = _metadata_disagreement(payment, obj, payment_intent_id=payment_intent_id, amount=amount)
    if disagreement:
        raise UnusableStripeObject(
            f"{obj.get('object')} {obj['id']} names payment #{ours} in metadata, {disagreement}."
        )
    return payment.pk


def _metadata_disagreement(payment: Payment | None, obj: dict, *, payment_intent_id, amount) -> str | None:
    if payment is None:
        return "which does not exist"
    if (obj.get("currency") or "").lower() != payment.currency:
        return f"which is in {payment.currency}, not {obj.get('currency')}"
    if amount is not None and amount != payment.amount:
        return f"which is for {payment.amount}, not {amount}"
    appointment = metadata_int(obj, METADATA_APPOINTMENT)
    if appointment is not None and appointment != payment.appointment_id:
        return f"which is of appointment #{payment.appointment_id}, not #{appointment}"
    if payment.payment_intent_id and payment_intent_id and payment_intent_id != payment.payment_intent_id:
        return f"which was paid with another payment intent than {payment_intent_id}"
    customer = id_of(obj.get("customer"))
    patients = StripeCustomer.objects.filter(stripe_customer_id=customer, user__appointments__payment=payment)
    if not customer or not patients.exists():
        return f"whose patient is another customer than {customer}"
    return None


def payment_for_session(session: dict) -> int | None:
    """A Checkout Session's payment: by the session id we stored. By metadata only when it agrees
    (currency, amount, appointment) and the session can be ours: one of the payment's attempts
    never heard Stripe's answer (the session was made but its id is unknown to us), or the payment
    already captured money with another intent, so this session is a second payment of it, which
    is given back in full and confirms nothing."""
    attempt = CheckoutAttempt.objects.filter(session_id=session["id"]).first()
    if attempt is not None:
        return attempt.payment_id
    ours = metadata_int(session, METADATA_PAYMENT)
    if ours is None:
        return None
    payment = Payment.objects.filter(pk=ours).first()
    disagreement = _metadata_disagreement(payment, session, payment_intent_id=None, amount=session.get("amount_total"))
    if disagreement is None and not (
        payment.captured_amount or payment.checkout_attempts.filter(session_id__isnull=True).exists()
    ):
        disagreement = "which made no such session and has not been paid"
    if disagreement:
        raise UnusableStripeObject(
            f"checkout.session {session['id']} names payment #{ours} in metadata, {disagreement}."
        )
    return payment.pk


def appointment_id_for(payment_id: int) -> int:
    return Payment.objects.values_list("appointment_id", flat=True).get(pk=payment_id)


def refund_row_for(refund: dict) -> Refund | None:
    """Our row for a Stripe refund: by its Stripe id, or by our id in its metadata (a refund we
    issued whose answer never reached us) when the row agrees: same payment intent, amount and
    currency, and no other Stripe refund recorded on it."""
    by_stripe_id = Refund.objects.filter(stripe_refund_id=refund["id"]).first()
    if by_stripe_id is not None:
        return by_stripe_id
    ours = metadata_int(refund, METADATA_REFUND)
    if ours is None:
        return None
    row = Refund.objects.filter(pk=ours).first()
    stripe_facts = (id_of(refund.get("payment_intent")), refund.get("amount"), (refund.get("currency") or "").lower())
    if (
        row is None
        or row.stripe_refund_id is not None
        or (row.payment_intent_id, row.amount, row.currency) != stripe_facts
    ):
        raise UnusableStripeObject(
            f"refund {refund['id']} names refund #{ours} in metadata, which is not that refund of ours."
        )
    return row


def refund_payment_id(refund: dict, row: Refund | None) -> int | None:
    """The payment a Stripe refund is of: its row's, else the one holding its payment intent. Our
    refunds are found by their row; a refund naming a payment in metadata without one is not ours."""
    if row is not None and row.payment_id:
        return row.payment_id
    found = payment_id_for_intent(id_of(refund.get("payment_intent")))
    named = metadata_int(refund, METADATA_PAYMENT)
    if named is not None and named != found:
        raise UnusableStripeObject(
            f"refund {refund['id']} names payment #{named} in metadata, but refunds another payment intent."
        )
    return found


def dispute_payment(dispute: dict) -> tuple[int | None, str | None, str]:
    """The payment a dispute is about, by its payment intent, or by its charge as dj-stripe synced
    it (an older API version names no intent); never by metadata. Returns (payment id, the payment
    intent, "") or (None, the intent if known, why it is on no payment) for a dispute kept apart:
    if it is about money not yet captured, recording that capture attaches it."""
    payment_intent_id = id_of(dispute.get("payment_intent")) or _synced_charge_intent(id_of(dispute.get("charge")))
    payment = Payment.objects.filter(payment_intent_id=payment_intent_id).first() if payment_intent_id else None
    if payment is None:
        duplicate_of = payment_id_for_intent_or_duplicate(payment_intent_id)
        if duplicate_of is not None:
            why = f"About a second payment of payment #{duplicate_of}, refunded as a duplicate."
        else:
            why = "Its charge and payment intent are not one of our payments (or not yet captured)."
        return None, payment_intent_id, why
    if payment.captured_amount == 0:
        return None, payment_intent_id, f"About payment #{payment.pk}, which captured nothing."
    if dispute["currency"].lower() != payment.currency or dispute["amount"] > payment.captured_amount:
        return None, payment_intent_id, f"About payment #{payment.pk}, but not its currency, or more than it captured."
    return payment.pk, payment_intent_id, ""


def _synced_charge_intent(charge_id: str | None) -> str | None:
    """dj-stripe has already synced the disputed charge when receivers run."""
    if not charge_id:
        return None
    return Charge.objects.filter(id=charge_id).values_list("payment_intent__id", flat=True).first()


def hospital_time(moment: dt.datetime) -> str:
    """A money moment (a refund asked for, a dispute's deadline) on the hospital's own clock, the
    zone named: money is the hospital's business, not one doctor's."""
    return timefmt.format_moment(moment, settings.HOSPITAL_TIME_ZONE)


def refunded_on_payment_intent(payment_intent_id: str) -> int:
    """What our refund rows of one payment intent say has gone back (or is on its way), whether
    or not we know yet whose payment it is."""
    returned = Refund.objects.filter(payment_intent_id=payment_intent_id, status__in=Refund.MONEY_RETURNED_STATUSES)
    return returned.aggregate(total=Sum("amount"))["total"] or 0


def latest_checkout_expiry() -> Subquery:
    """For a query of appointments: when the latest Checkout session of each one expires."""
    return Subquery(
        CheckoutAttempt.objects.filter(payment__appointment=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("expires_at")[:1]
    )


def appointments_paid_filter() -> Q:
    """For a query of appointments: those whose visit counts as paid, the query form of
    `Payment.is_paid` (received, not fully refunded, no lost dispute)."""
    return Q(payment__captured_amount__gt=F("payment__refunded_amount")) & ~Q(
        payment__dispute_status=DisputeStatus.LOST
    )


def refundable_amount(payment: Payment) -> int:
    """What may still be refunded of a payment's own charge: captured, less every refund of it
    that has not failed, ours still waiting to be issued included."""
    if not payment.payment_intent_id:
        return 0
    given = (
        Refund.objects.filter(payment_intent_id=payment.payment_intent_id)
        .exclude(status__in=Refund.DID_NOT_GO_THROUGH_STATUSES)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return max(payment.captured_amount - given, 0)


@dataclass(frozen=True)
class CancellationQuote:
    """What canceling now gives back: the policy's share for the patient, everything for the
    doctor or the hospital; never more than is left to refund."""

    percent: int
    amount: int
    currency: str

    @property
    def amount_words(self) -> str:
        return format_money(self.amount, self.currency)


def refund_clock(*, appointment: Appointment, payment: Payment) -> dt.datetime:
    """What the policy's windows count back from: the visit's start when it was booked
    (`refund_clock_at`, which rescheduling never moves), or its current start if a reschedule
    brought it earlier. Either way moving a visit cannot buy a better refund."""
    return min(payment.refund_clock_at, appointment.slot.starts_at)


def cancellation_quote(*, appointment: Appointment, payment: Payment, by: User, now: dt.datetime) -> CancellationQuote:
    left = refundable_amount(payment)
    if by.role == Role.PATIENT:
        clock_at = refund_clock(appointment=appointment, payment=payment)
        percent = payment.refund_percent(clock_at=clock_at, now=now)
        amount = payment.refund_amount(captured=payment.captured_amount, clock_at=clock_at, now=now)
    else:
        percent, amount = 100, left
    return CancellationQuote(percent=percent, amount=min(amount, left), currency=payment.currency)


def cancel_refusal(*, appointment: Appointment, by: User, now: dt.datetime) -> str:
    """Why `by` may not cancel this appointment now, for them; "" when they may. (A doctor or
    staff must also say why: the service asks for that.)"""
    if by.role == Role.PATIENT and appointment.patient_id != by.pk:
        return "This is not your appointment."
    if by.role == Role.DOCTOR and appointment.doctor.user_id != by.pk:
        return "Only the visit's own doctor can cancel it."
    if by.role == Role.STAFF and not by.has_perm(CANCEL_PERMISSION):
        return "Your staff group may not cancel appointments; front desk or billing can."
    if appointment.status != AppointmentStatus.CONFIRMED:
        return f"An appointment that is {appointment.get_status_display().lower()} cannot be canceled."
    if by.role == Role.PATIENT and appointment.slot.starts_at <= now:
        return "The visit has already started; please contact us."
    return ""


def reschedule_closes_at(*, appointment: Appointment, payment: Payment) -> dt.datetime:
    """The last moment a patient may move their visit: while canceling would still be by the
    policy's partial window (`partial_refund_hours` before the refund clock). After that the visit
    is too close to give its time to someone else."""
    return refund_clock(appointment=appointment, payment=payment) - dt.timedelta(hours=payment.partial_refund_hours)


def reschedule_refusal(*, appointment: Appointment, payment: Payment, by: User, now: dt.datetime) -> str:
    """Why the patient may not move this visit now, for them; "" when they may."""
    if appointment.patient_id != by.pk:
        return "This is not your appointment."
    if appointment.status != AppointmentStatus.CONFIRMED:
        return f"An appointment that is {appointment.get_status_display().lower()} cannot be moved."
    closes_at = reschedule_closes_at(appointment=appointment, payment=payment)
    if now > closes_at:
        return (
            "This visit can no longer be moved online: moving closed at "
            f"{deadline_words(closes_at, appointment.doctor.timezone)}. You can still cancel it."
        )
    return ""


def patient_may_change(*, appointment: Appointment, user: User, now: dt.datetime) -> dict[str, bool]:
    """Which of "cancel" and "reschedule" the appointment's patient may do now (the appointment
    page's links and the API's may_cancel / may_reschedule); empty for anyone else."""
    payment = getattr(appointment, "payment", None)
    if not user.is_patient or appointment.status != AppointmentStatus.CONFIRMED or payment is None:
        return {}
    return {
        "cancel": not cancel_refusal(appointment=appointment, by=user, now=now),
        "reschedule": not reschedule_refusal(appointment=appointment, payment=payment, by=user, now=now),
    }


def deadline_words(moment: dt.datetime, zone: str) -> str:
    """'Mon 7 Dec 2026, 10:00 JST', on the doctor's clock."""
    return f"{timefmt.local(moment, zone):%a} {timefmt.format_short(moment, zone)}"


@dataclass(frozen=True)
class PolicyWindow:
    """One window of a visit's cancellation policy: canceling after `after` (None: any time since
    booking) and by `until` (None: up to the start) gives back `percent` of the fee, `amount`."""

    percent: int
    amount: int
    after: dt.datetime | None
    until: dt.datetime | None


def cancellation_policy_windows(
    *, terms: PolicyTerms, clock_at: dt.datetime, fee: int, now: dt.datetime | None = None
) -> list[PolicyWindow]:
    """A cancellation policy's windows, best refund first, each with its exact deadlines (UTC).

    `terms` are the payment's copy, or the policy in force before booking; `clock_at` is the
    refund clock. A window the terms leave empty (a 0 % share, or a partial window no wider than
    the full one) is left out, and a 100 % "partial" share is the full refund it is. With `now`,
    windows already over are left out: what is still to come."""
    clock_at = clock_at.astimezone(dt.UTC)  # elapsed hours: wall-clock arithmetic would skip a DST change
    tiers: list[tuple[int, dt.datetime]] = [(100, clock_at - dt.timedelta(hours=terms.full_refund_hours))]
    partial_by = clock_at - dt.timedelta(hours=terms.partial_refund_hours)
    if terms.partial_refund_hours < terms.full_refund_hours and terms.partial_refund_percent == 100:
        tiers = [(100, partial_by)]
    elif terms.partial_refund_hours < terms.full_refund_hours and terms.partial_refund_percent:
        tiers.append((terms.partial_refund_percent, partial_by))
    windows, after = [], None
    for percent, until in tiers:
        windows.append(PolicyWindow(percent=percent, amount=fee * percent // 100, after=after, until=until))
        after = until
    if after < clock_at:  # a policy refunding in full up to the start has no "nothing back" window
        windows.append(PolicyWindow(percent=0, amount=0, after=after, until=None))
    return [window for window in windows if now is None or window.until is None or window.until >= now]


def cancellation_policy_lines(
    *, terms: PolicyTerms, clock_at: dt.datetime, fee: int, currency: str, zone: str, now: dt.datetime | None = None
) -> list[str]:
    """A cancellation policy as the patient reads it, one line per window (`cancellation_policy_windows`),
    each with its exact deadline on the doctor's clock (zone named) and what comes back of `fee`."""
    lines = []
    for window in cancellation_policy_windows(terms=terms, clock_at=clock_at, fee=fee, now=now):
        if window.until is None:
            lines.append(f"No refund if you cancel after {deadline_words(window.after, zone)}")
            continue
        back = format_money(window.amount, currency)
        share = f"Full refund ({back})" if window.percent == 100 else f"{window.percent} % back ({back})"
        lines.append(f"{share} if you cancel by {deadline_words(window.until, zone)}")
    return lines


def visit_policy_lines(*, appointment: Appointment, payment: Payment, now: dt.datetime | None = None) -> list[str]:
    """A booked visit's policy: the terms copied at booking, from its refund clock, of what was paid."""
    return cancellation_policy_lines(
        terms=payment,
        clock_at=refund_clock(appointment=appointment, payment=payment),
        fee=payment.captured_amount or payment.amount,
        currency=payment.currency,
        zone=appointment.doctor.timezone,
        now=now,
    )


def visit_policy_windows(*, appointment: Appointment, payment: Payment) -> list[PolicyWindow]:
    """`visit_policy_lines` as data, for the API: the same windows, of what was paid."""
    return cancellation_policy_windows(
        terms=payment,
        clock_at=refund_clock(appointment=appointment, payment=payment),
        fee=payment.captured_amount or payment.amount,
    )


@dataclass(frozen=True)
class CancellationRefundShown:
    """The refund a cancellation gave, as the appointment page tells its patient."""

    amount_words: str
    state: str  # "pending" until Stripe reports it, then "refunded"; "not completed" if it failed


def cancellation_refund_shown(payment: Payment | None) -> CancellationRefundShown | None:
    """From the payment's refunds as the detail page prefetched them (no query of its own)."""
    if payment is None:
        return None
    refunds = [refund for refund in payment.refunds.all() if refund.reason in CANCELLATION_REFUND_REASONS]
    if not refunds:
        return None
    latest = max(refunds, key=lambda refund: (refund.created_at, refund.pk))  # a re-issue after a returned one
    if latest.status == RefundStatus.SUCCEEDED:
        state = "refunded"
    elif latest.status in Refund.DID_NOT_GO_THROUGH_STATUSES:
        state = "not completed"
    else:
        state = "pending"
    return CancellationRefundShown(amount_words=format_money(latest.amount, latest.currency), state=state)


def time_off_appointments(
    *, doctor_id: int, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime
) -> list[Appointment]:
    """The doctor's appointments that hold a slot inside a time off, soonest first."""
    return list(
        Appointment.objects.filter(doctor_id=doctor_id, slot__starts_at__lt=ends_at, slot__ends_at__gt=starts_at)
        .holding_slot(now=now)
        .select_related("slot", "patient", "doctor__user")
        .order_by("slot__starts_at", "pk")
    )


def visit_words(appointment: Appointment) -> str:
    """'Mon 7 Dec 2026 09:00 GMT (Europe/London): Ann Lee', for the doctor."""
    name = appointment.patient.get_full_name() or appointment.patient.email
    return f"{timefmt.format_moment(appointment.slot.starts_at, appointment.doctor.timezone)}: {name}"


def visits_in_time_off(*, doctor, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> list[str]:
    """The confirmed visits a time off would cover, as the doctor's page names them."""
    return [
        visit_words(visit)
        for visit in time_off_appointments(doctor_id=doctor.pk, starts_at=starts_at, ends_at=ends_at, now=now)
        if visit.status == AppointmentStatus.CONFIRMED
    ]


# A checkout session whose end (paid, or expired) we have not heard of; "complete" without money
# is a delayed payment method still settling.
SESSION_END_UNSEEN = Q(
    session_id__isnull=False, status__in=[CheckoutAttemptStatus.OPEN, CheckoutAttemptStatus.COMPLETE]
)
# Refunds whose story at Stripe is not over: ours not yet issued, and ones Stripe has not settled.
REFUND_UNSETTLED = Q(status__in=[RefundStatus.REQUESTED, RefundStatus.PENDING])


def payments_to_reconcile(*, since: dt.datetime, now: dt.datetime) -> list[int]:
    """The payments worth comparing with Stripe, most recently changed first: not captured, booked
    since `since`, with a session whose end we have not heard of; captured since `since`; and,
    whatever their age, any with a refund not settled or a hold past its expiry."""
    session_unseen = Q(captured_amount=0, created_at__gte=since) & Exists(
        CheckoutAttempt.objects.filter(SESSION_END_UNSEEN, payment=OuterRef("pk"))
    )
    captured_lately = Q(captured_amount__gt=0, paid_at__gte=since)
    refund_unsettled = Exists(Refund.objects.filter(REFUND_UNSETTLED, payment=OuterRef("pk")))
    hold_lapsed = Q(appointment__status=AppointmentStatus.PENDING_PAYMENT, appointment__hold_expires_at__lte=now)
    candidates = Payment.objects.filter(session_unseen | captured_lately | refund_unsettled | hold_lapsed)
    return list(candidates.order_by("-updated_at", "-pk").values_list("pk", flat=True))


# -- the money panel on the appointment page, for staff ----------------------------------------

_REFUND_STATUS_WORDS = {
    RefundStatus.REQUESTED: "Refund pending",
    RefundStatus.PENDING: "Refund pending at the bank",
    RefundStatus.SUCCEEDED: "Refunded",
    RefundStatus.FAILED: "Failed",
    RefundStatus.CANCELED: "Canceled",
}


@dataclass(frozen=True)
class RefundLine:
    """One refund as the panel prints it, worked out once (never in the template's loop)."""

    amount: str
    status: str
    pending: bool
    badge: str  # its colour: amber on its way, green done, red did not go through
    who: str
    why: str
    when: str
    failure: str


@dataclass(frozen=True)
class DisputeLine:
    amount: str
    stage: str
    reason: str
    due_by: str
    is_open: bool


@dataclass(frozen=True)
class MoneyPanel:
    """What staff read and may do about an appointment's money. Amounts, refunds and disputes only
    for those who may read payments (front desk reads the status alone)."""

    status: str
    sees_money: bool
    captured: str = ""
    currency: str = ""
    refundable: int = 0
    refundable_words: str = ""
    refund_pending: bool = False
    refunds: list[RefundLine] = field(default_factory=list)
    disputes: list[DisputeLine] = field(default_factory=list)
    can_refund: bool = False
    can_cancel: bool = False


def _refund_line(refund: Refund) -> RefundLine:
    if refund.requested_by is not None:
        who = refund.requested_by.get_full_name() or refund.requested_by.email
    else:
        who = "Stripe's Dashboard" if refund.reason == RefundReason.STRIPE else "Automatic"
    # A refund by billing staff is told by its reason in their words alone ("Asked by" names them).
    if refund.reason == RefundReason.STAFF and refund.note:
        why = refund.note
    else:
        why = refund.get_reason_display() + (f": {refund.note}" if refund.note else "")
    pending = refund.status in (RefundStatus.REQUESTED, RefundStatus.PENDING)
    return RefundLine(
        amount=format_money(refund.amount, refund.currency),
        status=_REFUND_STATUS_WORDS[refund.status],
        pending=pending,
        badge="amber" if pending else "green" if refund.status == RefundStatus.SUCCEEDED else "red",
        who=who,
        why=why,
        when=hospital_time(refund.created_at),
        failure=refund.failure_reason,
    )


def staff_money_panel(*, appointment: Appointment, user: User) -> MoneyPanel | None:
    """The panel for a staff member; None for anyone else (patients and doctors never see it).
    Three queries with a payment (its refunds, its disputes, what is left), whatever their number."""
    if user.role != Role.STAFF:
        return None
    payment = getattr(appointment, "payment", None)
    can_cancel = user.has_perm(CANCEL_PERMISSION) and appointment.status == AppointmentStatus.CONFIRMED
    if payment is None:
        return MoneyPanel(status="No payment", sees_money=False, can_cancel=can_cancel)
    status = payment.get_status_display()
    if not user.has_perm(SEES_MONEY_PERMISSION):
        return MoneyPanel(status=status, sees_money=False, can_cancel=can_cancel)
    refunds = [_refund_line(refund) for refund in payment.refunds.select_related("requested_by").order_by("created_at")]
    disputes = [
        DisputeLine(
            amount=format_money(dispute.amount, dispute.currency),
            stage=dispute.get_status_display(),
            reason=dispute.reason_words,
            due_by=hospital_time(dispute.evidence_due_by) if dispute.evidence_due_by else "",
            is_open=dispute.is_open,
        )
        for dispute in payment.disputes.order_by("created_at")
    ]
    left = refundable_amount(payment)
    return MoneyPanel(
        status=status,
        sees_money=True,
        captured=format_money(payment.captured_amount, payment.currency),
        currency=payment.currency,
        refundable=left,
        refundable_words=format_money(left, payment.currency),
        refund_pending=any(line.pending for line in refunds),
        refunds=refunds,
        disputes=disputes,
        can_refund=user.has_perm(REFUND_PERMISSION) and left > 0,
        can_cancel=can_cancel,
    )


# -- payments and their refunds as API clients read them ----------------------------------------


def sees_payments(user: User) -> bool:
    """Who may read payments at all: patients (their own) and staff who may view payments (billing,
    administrators: what the admin shows them). Doctors and front desk never read amounts."""
    return user.is_patient or (user.role == Role.STAFF and user.has_perm(SEES_MONEY_PERMISSION))


def payments_seen_by(*, user: User, status: str | None = None, currency: str | None = None) -> QuerySet[Payment]:
    """The payments `user` may read, newest first: a patient's own, or all for staff who see money.
    `status` is in the user's words (a patient's "paid" matches an open dispute too). One query a
    page: each row's doctor (for its zone) and receipt come with it."""
    payments = Payment.objects.select_related("appointment__doctor", "receipt").order_by("-created_at", "-pk")
    if not sees_payments(user):
        return payments.none()
    if user.is_patient:
        payments = payments.filter(appointment__patient=user)
    if status:
        payments = payments.filter(status__in=payment_statuses_shown_as(status) if user.is_patient else [status])
    if currency:
        payments = payments.filter(currency=currency)
    return payments


def payment_seen_by(*, user: User, pk: int) -> Payment:
    """One payment `user` may read; anyone else's is a 404, as a missing one is."""
    payment = payments_seen_by(user=user).filter(pk=pk).first()
    if payment is None:
        raise Http404("No such payment.")
    return payment


def payment_refunds(*, payment: Payment) -> QuerySet[Refund]:
    """A payment's refunds, oldest first (as the staff's money panel lists them)."""
    return payment.refunds.order_by("created_at", "pk")
