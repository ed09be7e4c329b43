"""Reconciliation with Stripe: compare our payments with Stripe's own objects and repair drift.

Stripe lists events for 30 days only, so this never reads /v1/events: it asks for the objects
themselves (each open checkout session, the payment intent with its charge, the intent's refunds,
the charge's disputes) and records what they say through the services the webhooks use, so every
rule applies as if the lost event had arrived: a late payment confirms or is refunded, a refund
the bank returned is issued again, the status is derived from the facts.

Which payments, so that a big database stays cheap (selectors.payments_to_reconcile): not
captured and booked in the last `days` with a session whose end we have not heard of; captured
in the last `days`; and, whatever their age, any with a refund not settled or a hold past its
expiry. A captured payment costs one call when Stripe's charge agrees with our refund rows: its
refunds are listed only when it does not (or one of them is unsettled), its disputes only when
the charge says disputed and we know of none, and another session only while it is open here.

Per payment, Stripe first with no transaction open, then the repair, each fact in the transaction
of the service recording it. A dry run makes the same repair in one transaction and rolls it
back, so it reports exactly what a real run would change and leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from appointments.models import AppointmentStatus
from appointments.services import appointment_expire_lapsed_hold
from hospital import outbox
from hospital.money import format_money
from payments import stripe_api
from payments.models import CheckoutAttempt, CheckoutAttemptStatus, Payment, Refund, RefundReason, RefundStatus
from payments.selectors import (
    REFUND_UNSETTLED,
    SESSION_END_UNSEEN,
    payments_to_reconcile,
    refunded_on_payment_intent,
)
from payments.services.common import tell_staff
from payments.services.facts import checkout_session_record, dispute_record, refund_record
from payments.stripe_api import StripeRejected, StripeUnavailable
from payments.stripe_objects import UnusableStripeObject

logger = logging.getLogger(__name__)
DEFAULT_DAYS = 30


@dataclass
class DriftReport:
    """What one run found. `changes` and `problems` are plain lines, each naming its payment;
    `problems` are disagreements no repair can settle, for a person; `stopped` says why the run
    ended before checking every payment (Stripe unreachable or too slow), empty when it did not."""

    dry_run: bool
    to_check: int = 0
    checked: int = 0
    changes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stopped: str = ""


@dataclass
class _AtStripe:
    """One payment's objects as Stripe has them now."""

    sessions: list[dict] = field(default_factory=list)
    charge: dict | None = None
    refunds: list[dict] = field(default_factory=list)
    listed_intents: set[str] = field(default_factory=set)
    disputes: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def payments_drift_repair(
    *, days: int = DEFAULT_DAYS, dry_run: bool = False, budget_seconds: float, now: dt.datetime | None = None
) -> DriftReport:
    """Compare the payments worth checking with Stripe and repair what drifted; all Stripe calls
    of the run share `budget_seconds`. When it changed anything, billing staff get a summary."""
    now = now or timezone.now()
    report = DriftReport(dry_run=dry_run)
    payment_ids = payments_to_reconcile(since=now - dt.timedelta(days=days), now=now)
    report.to_check = len(payment_ids)
    with stripe_api.time_budget(budget_seconds):
        for payment_id in payment_ids:
            payment = Payment.objects.select_related("appointment").get(pk=payment_id)
            try:
                at_stripe = _ask_stripe(payment)
            except StripeUnavailable as exc:
                report.stopped = _stopped_words(exc, report, budget_seconds=budget_seconds)
                break
            changes, problems = _repair(payment, at_stripe, dry_run=dry_run, now=now)
            report.changes += [f"Payment #{payment_id}: {line}" for line in changes]
            report.problems += [f"Payment #{payment_id}: {line}" for line in at_stripe.problems + problems]
            report.checked += 1
    if report.changes and not dry_run:
        _summary_send(report, now=now)
    return report


def _stopped_words(exc: StripeUnavailable, report: DriftReport, *, budget_seconds: float) -> str:
    if stripe_api.budget_spent():
        why = f"Stripe answered too slowly: the run's {budget_seconds:g} s for Stripe were used up"
    else:
        why = f"Stripe could not be reached ({' '.join(str(exc).split())})"  # stripe-python's text, on one line
    return f"{why} after checking {report.checked} of {report.to_check} payment(s). Run it again later."


# -- what Stripe says ------------------------------------------------------------------------


def _ask_stripe(payment: Payment) -> _AtStripe:
    """Everything the repair needs from Stripe, before any transaction. A refusal (4xx) is a
    problem of this payment; an outage ends the run (StripeUnavailable)."""
    at_stripe = _AtStripe()
    _ask_sessions(payment, at_stripe)
    intents = set(payment.refunds.filter(REFUND_UNSETTLED).values_list("payment_intent_id", flat=True))
    if payment.captured_amount and payment.payment_intent_id and _ask_charge(payment, at_stripe):
        intents.add(payment.payment_intent_id)
    for intent_id in sorted(intents):
        refunds = _ask(at_stripe, f"the refunds of {intent_id}", stripe_api.refunds_for_payment_intent, intent_id)
        if refunds is not None:
            at_stripe.refunds += refunds
            at_stripe.listed_intents.add(intent_id)
    return at_stripe


def _ask_sessions(payment: Payment, at_stripe: _AtStripe) -> None:
    """The sessions whose end we have not heard of, for those that ended."""
    unseen = payment.checkout_attempts.filter(SESSION_END_UNSEEN)
    if payment.captured_amount:
        # The paid session is complete; another still open here may have been paid too (a
        # replaced one we could not close): that money is given back, so it is worth a look.
        unseen = unseen.filter(status=CheckoutAttemptStatus.OPEN)
    for session_id in unseen.values_list("session_id", flat=True):
        session = _ask(at_stripe, f"checkout session {session_id}", stripe_api.checkout_session_retrieve, session_id)
        if session is not None and session.get("status") != "open":
            at_stripe.sessions.append(session)


def _ask_charge(payment: Payment, at_stripe: _AtStripe) -> bool:
    """The captured payment's charge, and its disputes when it says disputed and we know of none;
    whether its refunds are worth listing (its refunded total is not what our rows make up)."""
    intent_id = payment.payment_intent_id
    intent = _ask(at_stripe, f"payment intent {intent_id}", stripe_api.payment_intent_with_charge, intent_id)
    charge = (intent or {}).get("latest_charge")
    if not isinstance(charge, dict):
        return False
    at_stripe.charge = charge
    if charge.get("disputed") and not payment.disputes.exists():
        what = f"the disputes of charge {charge['id']}"
        at_stripe.disputes = _ask(at_stripe, what, stripe_api.disputes_for_charge, charge["id"]) or []
    return charge.get("amount_refunded") != refunded_on_payment_intent(intent_id)


def _ask(at_stripe: _AtStripe, what: str, call, *args):
    try:
        return call(*args)
    except StripeRejected as exc:
        at_stripe.problems.append(f"Stripe refused to show {what}: {exc}")
        return None


# -- the repair ------------------------------------------------------------------------------


def _repair(payment: Payment, at_stripe: _AtStripe, *, dry_run: bool, now: dt.datetime) -> tuple[list[str], list[str]]:
    """Record what Stripe says; (the changes as lines, the problems). A dry run rolls it all back."""
    if not dry_run:
        return _repair_now(payment, at_stripe, now=now)
    with transaction.atomic():
        found = _repair_now(payment, at_stripe, now=now)
        transaction.set_rollback(True)
    return found


def _repair_now(payment: Payment, at_stripe: _AtStripe, *, now: dt.datetime) -> tuple[list[str], list[str]]:
    before = _State.of(payment.pk)
    problems: list[str] = []
    for session in at_stripe.sessions:
        _record(problems, checkout_session_record, session=session, now=now)
    for refund in at_stripe.refunds:
        _record(problems, refund_record, refund=refund, now=now)
    for dispute in at_stripe.disputes:
        _record(problems, dispute_record, dispute=dispute, now=now)
    hold_ended = appointment_expire_lapsed_hold(appointment_id=payment.appointment_id, now=now)
    requeued = [] if problems else _stuck_refunds_requeue(payment, at_stripe, now=now)
    changes = _State.of(payment.pk).changes_since(before, hold_ended=hold_ended)
    changes += [
        f"queued refund #{refund.pk} of {format_money(refund.amount, refund.currency)} again: Stripe has no refund "
        "made for it, and the worker will issue it (with its idempotency key, so never twice)"
        for refund in requeued
    ]
    return changes, problems + _charge_disagreements(payment.pk, at_stripe.charge)


def _record(problems: list[str], service, **facts) -> None:
    try:
        service(**facts)
    except UnusableStripeObject as exc:
        problems.append(f"could not record what Stripe says: {exc.reason}")


def _stuck_refunds_requeue(payment: Payment, at_stripe: _AtStripe, *, now: dt.datetime) -> list[Refund]:
    """Our refunds still waiting to be issued past their backoff, or claimed by a worker that
    died, which Stripe has no trace of (looked up by our id in its metadata, and recorded above
    when found): queued again, as the sweeper would."""
    stuck = payment.refunds.filter(
        outbox.due(now), status=RefundStatus.REQUESTED, payment_intent_id__in=at_stripe.listed_intents
    )
    return [refund for refund in stuck if outbox.requeue(refund, now=now)]


def _charge_disagreements(payment_id: int, charge: dict | None) -> list[str]:
    """What Stripe's charge says was captured and refunded, against our rows after the repair."""
    if charge is None:
        return []
    payment = Payment.objects.get(pk=payment_id)
    problems = []
    for what, theirs, ours in (
        ("captured", charge.get("amount_captured"), payment.captured_amount),
        ("refunded", charge.get("amount_refunded"), refunded_on_payment_intent(payment.payment_intent_id)),
    ):
        if theirs != ours:
            shown = format_money(theirs, payment.currency) if isinstance(theirs, int) else repr(theirs)
            problems.append(
                f"Stripe's charge {charge.get('id')} says {shown} {what}, our records "
                f"{format_money(ours, payment.currency)}"
            )
    return problems


@dataclass(frozen=True)
class _State:
    """A payment's facts as recorded here, to tell what a repair changed."""

    payment: Payment
    appointment_status: str
    sessions: dict[str, str]
    refunds: dict[int, Refund]
    disputes: dict[str, str]

    @classmethod
    def of(cls, payment_id: int) -> _State:
        payment = Payment.objects.select_related("appointment").get(pk=payment_id)
        return cls(
            payment=payment,
            appointment_status=payment.appointment.status,
            sessions=dict(
                CheckoutAttempt.objects.filter(payment=payment, session_id__isnull=False).values_list(
                    "session_id", "status"
                )
            ),
            refunds={refund.pk: refund for refund in payment.refunds.order_by("pk")},
            disputes=dict(payment.disputes.values_list("stripe_dispute_id", "status")),
        )

    def changes_since(self, before: _State, *, hold_ended: bool) -> list[str]:
        payment, lines = self.payment, []
        if payment.captured_amount > before.payment.captured_amount:
            lines.append(
                f"recorded the payment of {format_money(payment.captured_amount, payment.currency)} made at Stripe"
            )
        for session_id, status in self.sessions.items():
            if status != before.sessions.get(session_id) and status != CheckoutAttemptStatus.COMPLETE:
                lines.append(f"recorded checkout session {session_id} as {CheckoutAttemptStatus(status).label.lower()}")
        for pk, refund in self.refunds.items():
            lines += _refund_changes(before.refunds.get(pk), refund)
        for dispute_id, status in self.disputes.items():
            if status != before.disputes.get(dispute_id):
                lines.append(f"recorded dispute {dispute_id} as {status.replace('_', ' ')}")
        if self.appointment_status != before.appointment_status:
            why = ": its hold lapsed" if hold_ended else ""
            lines.append(
                f"appointment #{payment.appointment_id} is now {_appointment_words(self.appointment_status)} "
                f"(was {_appointment_words(before.appointment_status)}){why}"
            )
        if payment.status != before.payment.status:
            was = before.payment.get_status_display().lower()
            lines.append(f"status is now {payment.get_status_display().lower()} (was {was})")
        return lines


def _appointment_words(status: str) -> str:
    return AppointmentStatus(status).label.lower()


def _refund_changes(before: Refund | None, refund: Refund) -> list[str]:
    amount = format_money(refund.amount, refund.currency)
    status = refund.get_status_display().lower()
    if before is None and refund.reason == RefundReason.STRIPE:
        return [f"recorded refund {refund.stripe_refund_id} of {amount} made at Stripe ({status})"]
    if before is None:
        why = refund.get_reason_display()
        return [f"requested a refund of {amount}: {why[0].lower()}{why[1:]}"]
    if before.status == refund.status:
        return []
    if before.status == RefundStatus.REQUESTED:
        return [f"found our refund #{refund.pk} of {amount} at Stripe as {refund.stripe_refund_id} ({status})"]
    return [f"refund {refund.stripe_refund_id} of {amount} is now {status} (was {before.get_status_display().lower()})"]


def _summary_send(report: DriftReport, *, now: dt.datetime) -> None:
    """One e-mail per run to billing staff: what changed, and what needs one of them."""
    tell_staff(
        key=f"reconciliation:{now.isoformat()}",
        subject=f"Reconciliation with Stripe: {len(report.changes)} change(s) made",
        template="payments/email/reconciliation_summary.txt",
        context={"report": report, "ran_at": f"{now:%Y-%m-%d %H:%M} UTC"},
        billing_only=True,
    )
