"""`manage.py reconcile_payments` repairs drift between our payments and Stripe (issue 11).

Each scenario is seeded against the Stripe stand-in by never delivering the events it produced
(the `standin` fixture withholds them): the command must find the drift by asking Stripe for its
objects, and repair it through the same services the webhooks use.
"""

import datetime as dt
import io
import threading

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import StaffGroup
from appointments.models import Appointment, CancelReason
from appointments.models import AppointmentStatus as A
from hospital.models import OutboundEmail
from payments.models import CheckoutAttempt, CheckoutAttemptStatus, Dispute, Payment, Refund, RefundReason, RefundStatus
from payments.models import PaymentStatus as P
from payments.services import checkout_session_record, payments_drift_repair, refund_issue
from payments.services.cancellation import appointment_cancel
from tests.concurrency import run_concurrently
from tests.factories import StaffFactory
from tests.payments.flows import Flow, run_tasks
from tests.payments.test_final_states import paid_after_the_slot_was_taken

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]

BILLING = "billing@example.com"
SUMMARY_SUBJECT = "Reconciliation with Stripe: {} change(s) made"


@pytest.fixture(autouse=True)
def billing_staff(db):
    """One billing clerk (gets the summary) and one front-desk clerk (does not)."""
    clerk = StaffFactory(email=BILLING, is_superuser=False)
    clerk.groups.add(Group.objects.get_or_create(name=StaffGroup.BILLING)[0])
    StaffFactory(email="desk@example.com", is_superuser=False)
    return clerk


def reconcile(*args) -> list[str]:
    """Run the command; the lines it printed."""
    out = io.StringIO()
    call_command("reconcile_payments", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines()


def summaries() -> list[str]:
    return list(OutboundEmail.objects.filter(to=BILLING).order_by("pk").values_list("subject", flat=True))


def paid_and_told(standin, client) -> Flow:
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    assert flow.refresh().payment.status == P.PAID
    return flow


def stripe_refunds(flow: Flow) -> list[dict]:
    return flow.standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"]


def assert_second_run_changes_nothing(emails_before: int | None = None) -> None:
    emails = OutboundEmail.objects.count() if emails_before is None else emails_before
    lines = reconcile()
    assert lines[-1].startswith("No changes: "), lines
    assert OutboundEmail.objects.count() == emails


# -- paid at Stripe, never told ------------------------------------------------------------------


def test_a_payment_stripe_never_told_us_of_is_recorded_and_confirms_the_booking(standin, client):
    flow = Flow(standin, client)
    flow.pay()  # the patient paid; the webhook never arrived and the success page was never seen
    payment = flow.appointment.payment

    lines = reconcile()

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    assert appointment.payment.payment_intent_id == flow.payment_intent_id
    assert lines == [
        f"Payment #{payment.pk}: recorded the payment of $50.00 made at Stripe",
        f"Payment #{payment.pk}: appointment #{appointment.pk} is now confirmed (was awaiting payment)",
        f"Payment #{payment.pk}: status is now paid (was unpaid)",
        "3 change(s) made (1 payment(s) checked against Stripe); billing staff were sent a summary.",
    ]
    assert OutboundEmail.objects.filter(key=f"appointment-confirmed:{appointment.pk}").count() == 1
    assert summaries() == [SUMMARY_SUBJECT.format(3)]
    summary = OutboundEmail.objects.get(to=BILLING)
    assert f"- Payment #{payment.pk}: recorded the payment of $50.00 made at Stripe" in summary.body
    assert not OutboundEmail.objects.filter(to="desk@example.com").exists()

    assert_second_run_changes_nothing()


@pytest.mark.django_db(transaction=True)  # the real task worker manages its own connections
def test_a_payment_never_told_after_the_slot_was_taken_is_refunded_once_automatically(standin, client):
    flow, newcomer = paid_after_the_slot_was_taken(standin, client)
    payment = flow.appointment.payment

    lines = reconcile()

    assert f"Payment #{payment.pk}: recorded the payment of $50.00 made at Stripe" in lines
    assert (
        f"Payment #{payment.pk}: requested a refund of $50.00: paid after the hold lapsed and the slot was taken"
        in lines
    )
    refund = Refund.objects.get(payment=payment)
    assert (refund.reason, refund.status) == (RefundReason.LATE_PAYMENT, RefundStatus.REQUESTED)
    run_tasks()  # the refund worker issues it
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.EXPIRED, P.REFUNDED)
    made = [(made["amount"], made["metadata"]["hospital_refund_id"]) for made in stripe_refunds(flow)]
    assert made == [(5000, str(refund.pk))]
    newcomer.refresh_from_db()
    assert newcomer.status == A.PENDING_PAYMENT

    assert_second_run_changes_nothing()
    assert len(stripe_refunds(flow)) == 1


# -- refunded at Stripe, never told --------------------------------------------------------------


def test_refunds_made_in_the_dashboard_and_never_told_are_recorded_and_the_status_derived(standin, client):
    flow = paid_and_told(standin, client)
    payment = flow.appointment.payment
    first = standin.refund(flow.payment_intent_id, amount=2000)  # events withheld: never delivered

    lines = reconcile()

    assert lines[:2] == [
        f"Payment #{payment.pk}: recorded refund {first['id']} of $20.00 made at Stripe (succeeded)",
        f"Payment #{payment.pk}: status is now partially refunded (was paid)",
    ]
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PARTIALLY_REFUNDED)
    assert appointment.payment.refunded_amount == 2000

    rest = standin.refund(flow.payment_intent_id)  # the rest, also never told
    lines = reconcile()

    appointment = flow.refresh()
    assert (appointment.status, appointment.cancel_reason) == (A.CANCELED, CancelReason.REFUNDED)
    assert appointment.payment.status == P.REFUNDED
    assert f"Payment #{payment.pk}: recorded refund {rest['id']} of $30.00 made at Stripe (succeeded)" in lines
    assert f"Payment #{payment.pk}: appointment #{appointment.pk} is now canceled (was confirmed)" in lines
    assert Refund.objects.filter(payment=payment, reason=RefundReason.STRIPE).count() == 2
    assert summaries() == [SUMMARY_SUBJECT.format(2), SUMMARY_SUBJECT.format(3)]
    assert OutboundEmail.objects.filter(key=f"appointment-canceled-refunded:{appointment.pk}").count() == 1

    assert_second_run_changes_nothing()


def test_a_refund_that_failed_at_stripe_is_recorded_failed_and_the_money_counts_again(standin, client):
    flow = paid_and_told(standin, client)
    refund = standin.refund(flow.payment_intent_id, amount=2000)
    flow.deliver(flow.events())
    assert flow.refresh().payment.status == P.PARTIALLY_REFUNDED
    standin.control(f"refunds/{refund['id']}/fail", failure_reason="expired_or_canceled_card")  # never told
    payment = flow.appointment.payment

    lines = reconcile()

    assert lines[:2] == [
        f"Payment #{payment.pk}: refund {refund['id']} of $20.00 is now failed (was succeeded)",
        f"Payment #{payment.pk}: status is now paid (was partially refunded)",
    ]
    row = Refund.objects.get(stripe_refund_id=refund["id"])
    assert (row.status, row.failure_reason) == (RefundStatus.FAILED, "expired_or_canceled_card")
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status, appointment.payment.refunded_amount) == (
        A.CONFIRMED,
        P.PAID,
        0,
    )
    assert_second_run_changes_nothing()


def test_a_second_session_paid_unheard_is_refunded_as_a_duplicate(standin, client):
    flow = paid_and_told(standin, client)
    payment = flow.appointment.payment
    first = payment.checkout_attempts.get()
    # An earlier session of this booking that we never managed to close was paid as well.
    second = flow.pay_a_second_session()
    CheckoutAttempt.objects.create(
        payment=payment, idempotency_key="checkout-replaced", params=first.params, expires_at=first.expires_at,
        session_id=second, status=CheckoutAttemptStatus.OPEN,
    )  # fmt: skip

    lines = reconcile()

    assert lines[0] == f"Payment #{payment.pk}: requested a refund of $50.00: paid twice for one appointment"
    duplicate = Refund.objects.get(payment=payment)
    second_intent = standin.get(f"checkout/sessions/{second}")["payment_intent"]
    assert (duplicate.reason, duplicate.payment_intent_id) == (RefundReason.DUPLICATE_PAYMENT, second_intent)
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)  # its own payment stands
    assert_second_run_changes_nothing()


# -- our refunds stuck in "requested" ------------------------------------------------------------


def patient_cancels(flow: Flow) -> Refund:
    appointment = flow.refresh()
    appointment_cancel(appointment_id=appointment.pk, by=appointment.patient)
    return Refund.objects.get(payment=appointment.payment, reason=RefundReason.PATIENT_CANCELED)


def test_a_refund_issued_at_stripe_by_a_worker_that_died_is_found_by_metadata_and_never_issued_twice(
    standin, client, monkeypatch
):
    flow = paid_and_told(standin, client)
    refund = patient_cancels(flow)

    def worker_dies(*args, **kwargs):
        raise SystemExit("worker killed")

    # Stripe makes the refund, then the worker dies before writing down what Stripe answered.
    with monkeypatch.context() as dying, pytest.raises(SystemExit):
        dying.setattr("payments.services.refund_worker.refund_record_locked", worker_dies)
        refund_issue(refund_id=refund.pk)
    [made] = stripe_refunds(flow)
    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id, refund.attempts) == (RefundStatus.REQUESTED, None, 1)
    # Its claim has lapsed: nobody is working on it any more.
    Refund.objects.filter(pk=refund.pk).update(claimed_until=timezone.now() - dt.timedelta(minutes=1))
    payment = flow.appointment.payment

    lines = reconcile()

    assert lines[:2] == [
        f"Payment #{payment.pk}: found our refund #{refund.pk} of $50.00 at Stripe as {made['id']} (succeeded)",
        f"Payment #{payment.pk}: status is now refunded (was paid)",
    ]
    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == (RefundStatus.SUCCEEDED, made["id"])
    assert flow.refresh().payment.status == P.REFUNDED
    assert len(stripe_refunds(flow)) == 1
    assert_second_run_changes_nothing()
    refund_issue(refund_id=refund.pk)  # a task still queued for it does nothing now
    assert len(stripe_refunds(flow)) == 1


def test_our_refund_the_bank_returned_unheard_is_recorded_failed_and_issued_again(standin, client):
    flow = paid_and_told(standin, client)
    refund = patient_cancels(flow)
    refund_issue(refund_id=refund.pk)  # the worker, here in the test's transaction
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    standin.control(f"refunds/{refund.stripe_refund_id}/fail", failure_reason="declined")  # never told
    payment = flow.appointment.payment

    lines = reconcile()

    again = Refund.objects.get(reissue_of=refund)
    assert lines[:2] == [
        f"Payment #{payment.pk}: refund {refund.stripe_refund_id} of $50.00 is now failed (was succeeded)",
        f"Payment #{payment.pk}: requested a refund of $50.00: the patient canceled (by the cancellation policy)",
    ]
    assert (again.status, again.amount) == (RefundStatus.REQUESTED, 5000)
    assert flow.refresh().status == A.CANCELED
    assert_second_run_changes_nothing()  # the new refund's own task issues it; not due for the sweep yet


@pytest.mark.django_db(transaction=True)
def test_a_refund_never_issued_is_queued_again_once_and_issued_once(standin, client):
    flow = paid_and_told(standin, client)
    refund = patient_cancels(flow)
    # No refund worker ran; the first time the sweeper may re-queue it has passed.
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    payment = flow.appointment.payment
    tasks_before = DBTaskResult.objects.filter(args_kwargs__args=[refund.pk]).count()

    lines = reconcile()

    assert lines[0] == (
        f"Payment #{payment.pk}: queued refund #{refund.pk} of $50.00 again: Stripe has no refund made for it, "
        "and the worker will issue it (with its idempotency key, so never twice)"
    )
    assert stripe_refunds(flow) == []
    assert DBTaskResult.objects.filter(args_kwargs__args=[refund.pk]).count() == tasks_before + 1
    assert_second_run_changes_nothing()  # just queued: not due again yet
    run_tasks()  # both queued tasks run; one issues it, the other finds it done
    assert len(stripe_refunds(flow)) == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert flow.refresh().payment.status == P.REFUNDED


# -- holds and disputes --------------------------------------------------------------------------


def test_a_hold_past_its_expiry_is_expired(standin, client):
    flow = Flow(standin, client)  # the patient never paid; the session is still open at Stripe
    Appointment.objects.filter(pk=flow.appointment.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=1))
    payment = flow.appointment.payment

    lines = reconcile()

    assert lines[0] == (
        f"Payment #{payment.pk}: appointment #{flow.appointment.pk} is now expired (was awaiting payment): "
        "its hold lapsed"
    )
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.EXPIRED, P.UNPAID)
    assert_second_run_changes_nothing()


def test_a_session_that_expired_at_stripe_unheard_ends_the_hold(standin, client):
    flow = Flow(standin, client)
    standin.expire(flow.session_id)  # never told
    payment = flow.appointment.payment

    lines = reconcile()

    assert lines[:2] == [
        f"Payment #{payment.pk}: recorded checkout session {flow.session_id} as expired",
        f"Payment #{payment.pk}: appointment #{flow.appointment.pk} is now expired (was awaiting payment)",
    ]
    assert flow.refresh().status == A.EXPIRED
    assert_second_run_changes_nothing()


def test_a_dispute_never_told_is_recorded_from_the_disputed_charge(standin, client):
    flow = paid_and_told(standin, client)
    dispute = standin.control(f"charges/{flow.charge_id}/dispute")  # never told
    payment = flow.appointment.payment

    lines = reconcile()

    assert lines[:2] == [
        f"Payment #{payment.pk}: recorded dispute {dispute['id']} as needs response",
        f"Payment #{payment.pk}: status is now disputed (was paid)",
    ]
    assert Dispute.objects.get(stripe_dispute_id=dispute["id"]).payment_id == payment.pk
    assert flow.refresh().status == A.CONFIRMED  # disputes never move an appointment
    assert_second_run_changes_nothing()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_runs_racing_each_other_and_the_webhook_record_one_payment_and_one_confirmation(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    [completed] = flow.events()
    roles = iter([*[payments_drift_repair] * 3, None])
    take_role = threading.Lock()

    def run():
        with take_role:
            role = next(roles)
        if role is None:  # the webhook's receiver
            return checkout_session_record(session=completed["data"]["object"])
        return role(budget_seconds=30)

    results = run_concurrently(run, threads=4)

    assert [result for result in results if isinstance(result, Exception)] == []
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    assert appointment.payment.captured_amount == 5000
    assert OutboundEmail.objects.filter(key=f"appointment-confirmed:{appointment.pk}").count() == 1
    assert appointment.log_entries.filter(status=A.CONFIRMED).count() == 1
    assert not Refund.objects.exists()
    assert_second_run_changes_nothing()


# -- nothing to do, dry runs, Stripe down ------------------------------------------------------


def test_nothing_to_do_says_no_changes_sends_no_email_and_costs_one_stripe_call(standin, client):
    flow = paid_and_told(standin, client)
    calls_before = len(standin.api_calls())
    emails_before = OutboundEmail.objects.count()

    assert reconcile() == ["No changes: 1 payment(s) checked against Stripe."]

    assert standin.api_calls()[calls_before:] == [f"GET /v1/payment_intents/{flow.payment_intent_id}"]
    assert OutboundEmail.objects.count() == emails_before
    assert summaries() == []


def test_a_dry_run_reports_the_changes_and_makes_none(standin, client):
    told = paid_and_told(standin, client)
    dashboard = standin.refund(told.payment_intent_id, amount=2000)
    late, _ = paid_after_the_slot_was_taken(standin, client)
    rows = (Refund.objects.count(), OutboundEmail.objects.count(), DBTaskResult.objects.count())

    lines = reconcile("--dry-run")

    assert (
        f"Would change: Payment #{told.appointment.payment.pk}: recorded refund {dashboard['id']} of $20.00 "
        "made at Stripe (succeeded)"
    ) in lines
    assert (
        f"Would change: Payment #{late.appointment.payment.pk}: requested a refund of $50.00: "
        "paid after the hold lapsed and the slot was taken"
    ) in lines
    assert lines[-1].startswith("Dry run, nothing changed: a real run would make the ")
    assert (Refund.objects.count(), OutboundEmail.objects.count(), DBTaskResult.objects.count()) == rows
    assert (told.refresh().payment.status, late.refresh().payment.status) == (P.PAID, P.UNPAID)

    real = reconcile()
    assert [line.removeprefix("Would change: ") for line in lines[:-1]] == real[:-1]
    assert summaries() == [SUMMARY_SUBJECT.format(len(real) - 1)]


@pytest.mark.parametrize("failure", ["500", "timeout"])
def test_stripe_unreachable_stops_with_a_clear_message_and_nothing_half_written(standin, client, failure):
    flow = paid_and_told(standin, client)
    standin.refund(flow.payment_intent_id, amount=2000)
    standin.control("config", fail_api={"mode": failure, "count": 50, "timeout_seconds": 7})
    emails_before = OutboundEmail.objects.count()

    with pytest.raises(CommandError) as stopped:
        reconcile()

    assert str(stopped.value).startswith("Stripe could not be reached (")
    assert str(stopped.value).endswith("after checking 0 of 1 payment(s). Run it again later.")
    assert not Refund.objects.exists()
    assert flow.refresh().payment.status == P.PAID
    assert OutboundEmail.objects.count() == emails_before

    standin.control("config", fail_api=None)
    assert reconcile()[-1].startswith("2 change(s) made")


def test_stripe_too_slow_for_the_budget_stops_with_a_clear_message(standin, client):
    flow = paid_and_told(standin, client)
    standin.refund(flow.payment_intent_id, amount=2000)
    standin.control("config", api_delay_seconds=2.0)

    with pytest.raises(CommandError) as stopped:
        reconcile("--budget", "1")

    standin.control("config", api_delay_seconds=0)
    assert str(stopped.value) == (
        "Stripe answered too slowly: the run's 1 s for Stripe were used up after checking 0 of 1 payment(s). "
        "Run it again later."
    )
    assert not Refund.objects.exists()


def test_a_disagreement_no_repair_can_settle_is_left_for_a_person(standin, client):
    flow = paid_and_told(standin, client)
    Payment.objects.filter(pk=flow.appointment.payment.pk).update(captured_amount=4000)  # e.g. a hand edit
    err = io.StringIO()

    with pytest.raises(CommandError, match=r"1 disagreement\(s\) with Stripe need a person"):
        call_command("reconcile_payments", stdout=io.StringIO(), stderr=err)

    assert err.getvalue() == (
        f"Needs a person: Payment #{flow.appointment.payment.pk}: Stripe's charge {flow.charge_id} says $50.00 "
        "captured, our records $40.00\n"
    )
