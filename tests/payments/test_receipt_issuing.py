"""Each payment that captured money gets one receipt, each refund that went through one credit
note referencing it, whichever way the facts arrive: redelivered, told twice, the success page
racing the webhook, our refunds and Stripe Dashboard ones, a late payment refunded automatically."""

import datetime as dt

import pytest

from appointments.models import AppointmentStatus as A
from appointments.services import appointments_expire_lapsed_holds
from payments.models import CreditNote, Receipt, Refund, RefundReason, RefundStatus
from payments.services import checkout_success, refund_issue
from payments.services.cancellation import appointment_cancel
from tests.factories import PatientFactory, StaffFactory, hold_slot
from tests.payments import handmade
from tests.payments.flows import Flow, run_tasks, with_repeats

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def this_year() -> int:
    return dt.datetime.now(dt.UTC).year  # the hospital's zone (London) only differs at New Year


def test_a_paid_booking_gets_receipt_one_once_however_often_its_events_arrive(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    events = flow.events()
    flow.deliver(with_repeats(events))
    # The patient's browser reaches the success page after the webhook: it records the same facts.
    checkout_success(appointment=flow.appointment, session_id=flow.session_id)
    flow.deliver(with_repeats(events))

    payment = flow.refresh().payment
    receipt = Receipt.objects.get()
    assert receipt.payment == payment
    assert receipt.display_number == f"R-{this_year()}-000001"
    assert (receipt.amount, receipt.currency) == (payment.captured_amount, "usd") == (5000, "usd")
    assert CreditNote.objects.count() == 0


def test_the_success_page_first_then_the_webhook_still_makes_one_receipt(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    checkout_success(appointment=flow.appointment, session_id=flow.session_id)
    flow.deliver(with_repeats(flow.events()))

    assert flow.refresh().status == A.CONFIRMED
    assert [r.display_number for r in Receipt.objects.all()] == [f"R-{this_year()}-000001"]


def test_nothing_captured_no_receipt(standin, client):
    flow = Flow(standin, client)
    standin.expire(flow.session_id)
    flow.deliver(flow.events())

    assert flow.refresh().status == A.EXPIRED
    assert Receipt.objects.count() == 0


def test_dashboard_refunds_get_one_credit_note_each_referencing_the_receipt(standin, client):
    flow = handmade.paid_flow(standin, client)
    standin.refund(flow.payment_intent_id, amount=1500)
    flow.deliver(with_repeats(flow.events()))
    standin.refund(flow.payment_intent_id, amount=500)
    flow.deliver(with_repeats(flow.events()))

    payment = flow.refresh().payment
    notes = list(CreditNote.objects.order_by("number"))
    assert [(n.display_number, n.amount, n.refund.reason) for n in notes] == [
        (f"CN-{this_year()}-000001", 1500, RefundReason.STRIPE),
        (f"CN-{this_year()}-000002", 500, RefundReason.STRIPE),
    ]
    assert {n.payment.receipt for n in notes} == {payment.receipt}
    assert Receipt.objects.count() == 1


def test_a_refund_told_before_the_capture_gets_its_credit_note_once_the_capture_is_recorded(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    standin.refund(flow.payment_intent_id, amount=1000)
    events = flow.events()
    refund_events = [e for e in events if e["type"].startswith(("refund.", "charge.refunded"))]
    flow.deliver(refund_events)  # the refund arrives first: whose payment it is is not known yet
    assert CreditNote.objects.count() == 0
    flow.deliver([e for e in events if e not in refund_events])

    note = CreditNote.objects.get()
    assert (note.amount, note.payment, note.payment.receipt.number) == (1000, flow.refresh().payment, 1)


def test_our_refund_for_a_staff_cancellation_gets_its_credit_note_when_stripe_has_made_it(standin, client):
    flow = handmade.paid_flow(standin, client)
    payment = flow.refresh().payment
    now = payment.refund_clock_at - dt.timedelta(hours=1)

    appointment_cancel(appointment_id=payment.appointment_id, by=StaffFactory(), note="Clinic closed.", now=now)
    assert CreditNote.objects.count() == 0  # requested, not yet at Stripe
    refund = Refund.objects.get()
    refund_issue(refund_id=refund.pk)
    flow.deliver(with_repeats(flow.events()))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    note = CreditNote.objects.get()
    assert (note.refund, note.amount, note.payment.receipt) == (refund, payment.captured_amount, payment.receipt)


def test_a_credit_note_whose_refund_the_bank_returns_stays_numbered_and_is_void(standin, client):
    flow = handmade.paid_flow(standin, client)
    refund = standin.refund(flow.payment_intent_id, amount=2000)
    flow.deliver(flow.events())
    note = CreditNote.objects.get()

    standin.control(f"refunds/{refund['id']}/fail")
    flow.deliver(with_repeats(flow.events()))

    note.refresh_from_db()
    assert note.voided and note.number == 1
    assert CreditNote.objects.count() == 1  # not withdrawn, and no second one for the failure
    # The next credit note follows on: no number is reused or skipped.
    standin.refund(flow.payment_intent_id, amount=700)
    flow.deliver(flow.events())
    assert list(CreditNote.objects.order_by("number").values_list("number", "amount")) == [(1, 2000), (2, 700)]


@pytest.mark.django_db(transaction=True)  # the real task worker manages its own connections
def test_a_late_payment_refunded_automatically_gets_a_receipt_and_a_credit_note(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    appointments_expire_lapsed_holds(now=flow.appointment.hold_expires_at + dt.timedelta(seconds=1))
    hold_slot(patient=PatientFactory(), slot=flow.slot)  # the slot is someone else's now

    flow.deliver(with_repeats(flow.events()))
    run_tasks()  # the refund worker
    flow.deliver(with_repeats(flow.events()))

    appointment = flow.refresh()
    assert appointment.status == A.EXPIRED
    receipt = Receipt.objects.get()
    note = CreditNote.objects.get()
    assert (receipt.payment, receipt.amount) == (appointment.payment, 5000)
    assert (note.refund.reason, note.amount, note.payment.receipt) == (RefundReason.LATE_PAYMENT, 5000, receipt)


@pytest.mark.django_db(transaction=True)
def test_a_refund_of_a_second_payment_credits_nothing_on_the_receipt(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    flow.pay_a_second_session()
    flow.deliver(with_repeats(flow.events()))
    run_tasks()
    flow.deliver(flow.events())

    assert Refund.objects.get().status == RefundStatus.SUCCEEDED  # the duplicate went back
    assert Receipt.objects.get().amount == 5000
    assert CreditNote.objects.count() == 0  # that money was never on the receipt
