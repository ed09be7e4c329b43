"""Staff refunds: never more back than was captured (the database's rule as well as the forms'),
who asked and why, the worker issuing them at the Stripe stand-in, and what they do (and never do)
to the appointment."""

import datetime as dt
import threading

import pytest
import stripe
import time_machine
from django.contrib.auth.models import Group
from django.db import IntegrityError, connections, transaction

from accounts.models import StaffGroup
from appointments.models import Appointment
from appointments.models import AppointmentStatus as A
from payments.models import Payment, Refund, RefundReason, RefundStatus
from payments.models import PaymentStatus as P
from payments.selectors import refundable_amount
from payments.services import RefundRefused, payment_refund, refund_issue
from payments.services.refunds import refund_request
from tests.e2e.helpers import wait_for
from tests.factories import StaffFactory, visit
from tests.payments import handmade
from tests.payments.flows import run_tasks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def staff_in(group: StaffGroup):
    user = StaffFactory(is_superuser=False)
    user.groups.add(Group.objects.get(name=group))
    return user


def paid_payment(intent: str = "pi_paid", status: str = "confirmed") -> Payment:
    """A visit paid $50.00 with a payment intent, made directly (no Stripe): for the database's rule."""
    appointment = visit(status=status)
    Payment.objects.filter(appointment=appointment).update(payment_intent_id=intent)
    return Payment.objects.get(appointment=appointment)


def our_refund(payment: Payment, amount: int, **fields) -> Refund:
    return Refund.objects.create(
        payment=payment,
        payment_intent_id=payment.payment_intent_id,
        amount=amount,
        currency=payment.currency,
        reason=fields.pop("reason", RefundReason.STAFF),
        **fields,
    )


def issue_requested_refunds() -> None:
    for pk in Refund.objects.filter(status=RefundStatus.REQUESTED).values_list("pk", flat=True):
        refund_issue(refund_id=pk)


# -- the database's rule ------------------------------------------------------------------------


def test_the_database_refuses_a_raw_insert_of_more_than_was_captured():
    payment = paid_payment()

    with pytest.raises(IntegrityError, match="refund exceeds what the payment has left"), transaction.atomic():
        our_refund(payment, 5001)

    our_refund(payment, 3000)
    with pytest.raises(IntegrityError), transaction.atomic():
        our_refund(payment, 2001, status=RefundStatus.SUCCEEDED)  # 3000 + 2001 > 5000
    our_refund(payment, 2000)  # exactly what is left
    assert Refund.objects.filter(payment=payment).count() == 2


def test_refunds_that_did_not_go_through_give_their_room_back_and_stripes_own_are_recorded_whatever():
    payment = paid_payment()
    failed = our_refund(payment, 5000)
    Refund.objects.filter(pk=failed.pk).update(status=RefundStatus.FAILED)

    again = our_refund(payment, 5000)  # the failed one no longer counts

    # A refund made in Stripe's Dashboard is a fact Stripe allowed: recorded even past the total.
    our_refund(payment, 100, reason=RefundReason.STRIPE, stripe_refund_id="re_dashboard")
    assert refundable_amount(payment) == 0
    # Moving the failed one back to counting, or growing ours, is refused like an insert.
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=failed.pk).update(status=RefundStatus.PENDING)
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=again.pk).update(amount=5001)
    Refund.objects.filter(pk=again.pk).update(status=RefundStatus.SUCCEEDED)  # Stripe's answer to ours: fine


def test_refund_request_tells_an_over_refund_from_a_repeated_fact():
    payment = paid_payment()
    our_refund(payment, 4000)

    with pytest.raises(RefundRefused, match=r"at most \$10\.00"):
        refund_request(payment=payment, payment_intent_id="pi_paid", amount=1001, reason=RefundReason.STAFF)

    first = refund_request(payment=payment, payment_intent_id="pi_paid", amount=500, reason=RefundReason.LATE_PAYMENT)
    assert first is not None
    # The same automatic fact told again is still "already requested", not an error.
    assert refund_request(payment=payment, payment_intent_id="pi_paid", amount=500, reason="late_payment") is None


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_staff_refunding_one_payment_at_once_cannot_give_back_more_than_it_captured():
    """Raw inserts in two transactions at once, with no lock of ours: the trigger's own lock on the
    payment counts them one after the other."""
    payment = paid_payment()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def refund_3000():
        try:
            barrier.wait()
            with transaction.atomic():
                our_refund(payment, 3000)
            outcomes.append("made")
        except IntegrityError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refund_3000) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["made", "refused"]
    assert Refund.objects.filter(payment=payment).count() == 1


# -- the staff refund service, at the stand-in -------------------------------------------------


def test_a_partial_then_a_full_refund_before_the_visit_cancels_it_once_stripe_reports_it(standin, client):
    flow = handmade.paid_flow(standin, client)
    billing = staff_in(StaffGroup.BILLING)
    payment = flow.refresh().payment

    first = payment_refund(payment_id=payment.pk, amount=2000, note="Waiting room overran by an hour.", by=billing)

    assert (first.status, first.requested_by, first.note, first.reason) == (
        RefundStatus.REQUESTED, billing, "Waiting room overran by an hour.", RefundReason.STAFF,
    )  # fmt: skip
    assert flow.refresh().payment.status == P.PAID  # nothing at Stripe yet
    issue_requested_refunds()
    flow.deliver(flow.events())
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PARTIALLY_REFUNDED)

    with pytest.raises(RefundRefused, match=r"at most \$30\.00"):
        payment_refund(payment_id=payment.pk, amount=3001, note="The rest.", by=billing)
    payment_refund(payment_id=payment.pk, amount=3000, note="The rest, at the patient's request.", by=billing)
    issue_requested_refunds()
    flow.deliver(flow.events())

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CANCELED, P.REFUNDED)
    stripe_refunds = standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"]
    assert sorted(r["amount"] for r in stripe_refunds) == [2000, 3000]
    assert {r["metadata"]["hospital_refund_id"] for r in stripe_refunds} == {
        str(pk) for pk in Refund.objects.values_list("pk", flat=True)
    }
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() == 2


@pytest.mark.parametrize("status", [A.IN_PROGRESS, A.COMPLETED, A.NO_SHOW])
def test_a_full_staff_refund_after_the_visit_leaves_the_appointment_as_it_is(standin, client, status):
    flow = handmade.paid_flow(standin, client)
    Appointment.objects.filter(pk=flow.appointment.pk).update(status=status)  # as the doctor's portal would
    payment = flow.refresh().payment

    payment_refund(payment_id=payment.pk, amount=5000, note="Goodwill.", by=staff_in(StaffGroup.BILLING))
    issue_requested_refunds()
    flow.deliver(flow.events())

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (status, P.REFUNDED)


def test_only_billing_and_administrators_may_refund_and_a_reason_is_required():
    payment = paid_payment()
    for group in (StaffGroup.FRONT_DESK, StaffGroup.CLINICAL_RECORDS):
        with pytest.raises(RefundRefused, match="Only billing staff"):
            payment_refund(payment_id=payment.pk, amount=100, note="Why not.", by=staff_in(group))
    with pytest.raises(RefundRefused, match="say why"):
        payment_refund(payment_id=payment.pk, amount=100, note="   ", by=staff_in(StaffGroup.BILLING))
    with pytest.raises(RefundRefused, match="more than zero"):
        payment_refund(payment_id=payment.pk, amount=0, note="Zero.", by=staff_in(StaffGroup.BILLING))
    assert not Refund.objects.exists()

    payment_refund(payment_id=payment.pk, amount=100, note="Parking.", by=staff_in(StaffGroup.ADMINISTRATOR))
    assert Refund.objects.get().amount == 100


# -- refund.created before and after the worker records Stripe's answer -------------------------


def test_refund_created_after_the_worker_recorded_the_answer_changes_nothing(standin, client):
    flow = handmade.paid_flow(standin, client)
    payment = flow.refresh().payment
    payment_refund(payment_id=payment.pk, amount=1500, note="Late start.", by=staff_in(StaffGroup.BILLING))

    issue_requested_refunds()
    row = Refund.objects.get()
    assert row.status == RefundStatus.SUCCEEDED and row.stripe_refund_id
    flow.deliver(flow.events())

    assert Refund.objects.get() == row
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert flow.refresh().payment.status == P.PARTIALLY_REFUNDED


@pytest.mark.django_db(transaction=True)
def test_refund_created_before_the_worker_heard_stripes_answer_is_one_row(standin, client, monkeypatch):
    """Stripe is slow: the worker gives up waiting, Stripe makes the refund anyway and its event
    arrives first; the retry finds that refund by our id in its metadata. One row, one refund."""
    from hospital.outbox import outbox_sweep

    monkeypatch.setattr(stripe, "default_http_client", stripe.RequestsClient(timeout=0.5))
    flow = handmade.paid_flow(standin, client)
    payment = flow.refresh().payment
    payment_refund(payment_id=payment.pk, amount=1500, note="Late start.", by=staff_in(StaffGroup.BILLING))
    standin.control("config", fail_api={"mode": "timeout", "count": 1, "path_prefix": "/v1/refunds", "method": "POST",
                                        "timeout_seconds": 1.5})  # fmt: skip

    run_tasks()  # the worker's call times out
    row = Refund.objects.get()
    assert (row.status, row.stripe_refund_id, row.attempts) == (RefundStatus.REQUESTED, None, 1)
    wait_for(lambda: standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"])  # made after all
    flow.deliver(flow.events())  # refund.created, before the worker knows

    row.refresh_from_db()
    assert row.status == RefundStatus.SUCCEEDED and row.stripe_refund_id
    assert flow.refresh().payment.status == P.PARTIALLY_REFUNDED
    with time_machine.travel(row.next_attempt_at + dt.timedelta(seconds=1)):
        outbox_sweep()
        run_tasks()  # nothing left to issue: the row is no longer "requested"

    assert Refund.objects.count() == 1
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert len(standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"]) == 1
