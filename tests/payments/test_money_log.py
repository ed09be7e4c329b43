"""Every change of an appointment's or a payment's money state is one INFO line of the "money"
logger, with the ids an operator searches by (issue 13): book, pay, refund, dispute, each told
by Stripe's events; the same events told again write no line at all, and neither does work that
rolled back.

transactional_db: the lines are written when the transaction commits, as in production.
"""

import logging

import pytest
from django.contrib.auth.models import Group

from accounts.models import StaffGroup
from payments.models import CheckoutAttempt, Dispute, Refund
from payments.services import payment_refund, refund_issue
from tests.factories import StaffFactory
from tests.payments.flows import Flow, with_repeats
from tests.payments.stripe_events import post_event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("webhook_endpoint")]


def money_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "money"]


def changes(records) -> list[tuple[str, str, str]]:
    return [(r.change, r.old_status, r.new_status) for r in records]


def only(records, change: str, new: str) -> logging.LogRecord:
    [record] = [r for r in records if (r.change, r.new_status) == (change, new)]
    return record


def test_booking_paying_refunding_and_a_dispute_each_log_their_changes_once_with_their_ids(standin, client, caplog):
    caplog.set_level(logging.INFO, logger="money")
    flow = Flow(standin, client)
    appointment = flow.appointment
    payment = appointment.payment
    attempt = CheckoutAttempt.objects.get(payment=payment)

    booked = money_lines(caplog)
    assert changes(booked) == [
        ("appointment", "", "pending_payment"),
        ("payment", "", "unpaid"),
        ("checkout_attempt", "new", "open"),
    ]
    assert booked[0].getMessage() == f"appointment {appointment.pk}: (new) -> pending_payment"
    opened = booked[2]
    assert (opened.checkout_attempt_id, opened.checkout_session_id, opened.appointment_id, opened.payment_id) == (
        attempt.pk, flow.session_id, appointment.pk, payment.pk,
    )  # fmt: skip
    assert all(r.levelname == "INFO" for r in booked)

    caplog.clear()
    flow.pay()
    paid_events = flow.events()
    flow.deliver(paid_events)
    paid = money_lines(caplog)
    assert changes(paid) == [
        ("checkout_attempt", "open", "complete"),
        ("payment", "unpaid", "paid"),
        ("appointment", "pending_payment", "confirmed"),
    ]
    [completed] = [event for event in paid_events if event["type"] == "checkout.session.completed"]
    for record in paid:
        assert (record.stripe_event_id, record.stripe_event_type) == (completed["id"], "checkout.session.completed")
    payment_line = only(paid, "payment", "paid")
    assert (payment_line.appointment_id, payment_line.payment_id, payment_line.payment_intent_id) == (
        appointment.pk, payment.pk, flow.payment_intent_id,
    )  # fmt: skip
    assert (payment_line.captured_amount, payment_line.refunded_amount) == (payment.amount, 0)
    assert only(paid, "appointment", "confirmed").appointment_id == appointment.pk

    caplog.clear()
    billing = StaffFactory(is_superuser=False)
    billing.groups.add(Group.objects.get(name=StaffGroup.BILLING))
    refund = payment_refund(payment_id=payment.pk, amount=1000, note="The visit started late.", by=billing)
    refund_issue(refund_id=refund.pk)
    flow.deliver(flow.events())
    refunded = money_lines(caplog)
    refund.refresh_from_db()
    assert changes(refunded)[:2] == [("refund", "", "requested"), ("refund", "requested", "succeeded")]
    assert ("payment", "paid", "partially_refunded") in changes(refunded)
    assert len(refunded) == 3  # the refund's events say what the worker already recorded
    issued = only(refunded, "refund", "succeeded")
    assert (issued.refund_id, issued.stripe_refund_id, issued.payment_intent_id, issued.appointment_id) == (
        refund.pk, refund.stripe_refund_id, flow.payment_intent_id, appointment.pk,
    )  # fmt: skip
    assert (issued.amount, issued.reason) == (1000, "staff")
    assert refund.stripe_refund_id.startswith("re_")

    caplog.clear()
    dispute = flow.standin.control(f"charges/{flow.charge_id}/dispute", reason="fraudulent")
    flow.standin.control(f"disputes/{dispute['id']}/close", status="won")
    dispute_events = flow.events()
    flow.deliver(dispute_events)
    disputed = money_lines(caplog)
    row = Dispute.objects.get()
    assert changes(disputed) == [
        ("dispute", "", "needs_response"),
        ("payment", "partially_refunded", "disputed"),
        ("dispute", "needs_response", "won"),
        ("payment", "disputed", "partially_refunded"),
    ]
    opened = disputed[0]
    assert (opened.stripe_dispute_id, opened.charge_id, opened.payment_id, opened.stripe_event_type) == (
        row.stripe_dispute_id, flow.charge_id, payment.pk, "charge.dispute.created",
    )  # fmt: skip
    assert disputed[2].stripe_event_id == dispute_events[-1]["id"]

    # Stripe tells everything again, as the same deliveries and under new event ids: no state
    # moves, so no line is written.
    caplog.clear()
    flow.deliver(with_repeats(paid_events) + with_repeats(dispute_events))
    assert money_lines(caplog) == []
    assert Refund.objects.count() == 1


def test_a_hold_that_lapses_logs_its_expiry(standin, client, caplog):
    caplog.set_level(logging.INFO, logger="money")
    flow = Flow(standin, client)
    caplog.clear()
    flow.standin.expire(flow.session_id)
    flow.deliver(flow.events())
    lines = money_lines(caplog)
    assert changes(lines) == [("checkout_attempt", "open", "expired"), ("appointment", "pending_payment", "expired")]
    assert lines[1].stripe_event_type == "checkout.session.expired"
    assert lines[1].appointment_id == flow.appointment.pk


def test_a_webhook_whose_work_rolls_back_logs_nothing_and_its_redelivery_logs_once(
    standin, client, caplog, monkeypatch
):
    from appointments import services as appointment_services

    caplog.set_level(logging.INFO, logger="money")
    flow = Flow(standin, client)
    flow.pay()
    [completed] = flow.events()
    caplog.clear()
    appointment_log = appointment_services.appointment_log

    def fails_after_the_changes(**kwargs):  # the attempt, the payment and the visit have moved
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(appointment_services, "appointment_log", fails_after_the_changes)
    client.raise_request_exception = False
    assert post_event(client, completed).status_code == 500
    assert money_lines(caplog) == []  # rolled back: no line says the money moved

    monkeypatch.setattr(appointment_services, "appointment_log", appointment_log)
    delivered = post_event(client, completed)  # Stripe's retry
    assert delivered.status_code == 200
    paid = money_lines(caplog)
    assert changes(paid) == [
        ("checkout_attempt", "open", "complete"),
        ("payment", "unpaid", "paid"),
        ("appointment", "pending_payment", "confirmed"),
    ]
    for record in paid:
        assert (record.stripe_event_id, record.request_id) == (completed["id"], delivered["X-Request-ID"])
