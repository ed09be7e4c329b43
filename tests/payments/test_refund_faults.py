"""Refunds Stripe reports late, alone, first, or at the same moment as the payment (issue 8, §2.1–2.4).

Each scenario runs against the Stripe stand-in; at least one test per fault delivers the events,
signed, to the real webhook URL. Where the point is the service's logic in many orders, the
services are called with the stand-in's real-shaped objects instead.
"""

import itertools
import threading
import time

import pytest
import stripe
from django.core import mail
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import AppointmentStatus as A
from appointments.models import CancelReason
from hospital.models import OutboundEmail
from payments.models import (
    ChargeRefundsSync,
    ChargeRefundsSyncStatus,
    Refund,
    RefundFollowUp,
    RefundReason,
    RefundStatus,
)
from payments.models import PaymentStatus as P
from payments.services import charge_record, charge_refunds_sync, checkout_session_record, refund_record
from payments.stripe_api import StripeUnavailable
from tests.factories import PatientFactory, StaffFactory, hold_slot
from tests.payments.flows import Flow, charge_refunds_list, run_tasks, with_repeats
from tests.payments.test_final_states import lapse_hold

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]

# The last API version before Stripe sent refund.* events for a charge's refunds (2024-10-28).
OLDER_API_VERSION = "2024-09-30.acacia"


@pytest.fixture
def older_stripe_api(standin):
    """The stand-in speaks an API version whose Dashboard refunds arrive as charge.refunded alone."""
    current = standin.control("config", method="GET")["api_version"]
    standin.control("config", api_version=OLDER_API_VERSION)
    yield standin
    standin.control("config", api_version=current)


def types(events):
    return [event["type"] for event in events]


def detail_page(appointment) -> str:
    """The patient's own page for the appointment, its text with whitespace collapsed."""
    client = Client()
    client.force_login(appointment.patient)
    response = client.get(reverse("appointments:detail", args=[appointment.pk]))
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


# -- 2.1 a refund we issued that the bank later returns ---------------------------------------


def late_payment_refund_issued(standin, client) -> tuple[Flow, Refund]:
    """Paid after the slot was taken: the full refund is requested, issued by the worker, and
    Stripe's events about it are delivered."""
    flow = Flow(standin, client)
    flow.pay()
    lapse_hold(flow)
    hold_slot(patient=PatientFactory(), slot=flow.slot)
    flow.deliver(flow.events())
    run_tasks()
    flow.deliver(flow.events())
    refund = Refund.objects.get(payment=flow.appointment.payment)
    assert refund.status == RefundStatus.SUCCEEDED
    assert flow.refresh().payment.status == P.REFUNDED
    return flow, refund


def fail_at_the_bank(flow, refund: Refund, reason: str) -> list[dict]:
    flow.standin.control(f"refunds/{refund.stripe_refund_id}/fail", failure_reason=reason)
    events = flow.events()
    assert "refund.failed" in types(events)
    return events


@pytest.mark.django_db(transaction=True)  # the real task worker manages its own connections
def test_a_late_payment_refund_the_bank_returns_is_issued_again_once_then_handed_to_staff(standin, client):
    StaffFactory(email="desk@example.com")
    flow, first = late_payment_refund_issued(standin, client)

    flow.deliver(with_repeats(fail_at_the_bank(flow, first, "declined")))

    first.refresh_from_db()
    assert (first.status, first.follow_up) == (RefundStatus.FAILED, RefundFollowUp.REISSUED)
    again = Refund.objects.get(reissue_of=first)
    assert (again.status, again.amount, again.reason) == (RefundStatus.REQUESTED, 5000, RefundReason.LATE_PAYMENT)
    assert not OutboundEmail.objects.filter(to="desk@example.com").exists()
    run_tasks()
    flow.deliver(flow.events())
    again.refresh_from_db()
    assert again.status == RefundStatus.SUCCEEDED
    assert flow.refresh().payment.status == P.REFUNDED
    page = detail_page(flow.appointment)
    assert "This refund did not go through because your bank declined it, so we sent it again." in page

    # The second one fails too: no third try, a person takes over.
    flow.deliver(with_repeats(fail_at_the_bank(flow, again, "declined")))

    again.refresh_from_db()
    assert (again.status, again.follow_up) == (RefundStatus.FAILED, RefundFollowUp.NEEDS_STAFF)
    assert Refund.objects.filter(payment=flow.appointment.payment).count() == 2
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.EXPIRED, P.PAID)  # the money is with us again
    alert = OutboundEmail.objects.get(to="desk@example.com")
    assert alert.key == f"refund-returned:{again.pk}:desk@example.com"
    assert alert.subject == f"Refund #{again.pk} failed at the bank and needs a person"
    page = detail_page(appointment)
    assert "This refund did not go through because your bank declined it." in page
    assert "Our staff will contact you to return the money another way." in page
    run_tasks()
    to_patient = [m for m in mail.outbox if m.to == [appointment.patient.email]]
    assert [m.subject for m in to_patient][-1] == "Your refund did not go through"
    [to_staff] = [m for m in mail.outbox if m.to == ["desk@example.com"]]
    assert to_staff.extra_headers["Message-ID"] == alert.message_id


@pytest.mark.django_db(transaction=True)
def test_a_second_payments_refund_returned_for_a_closed_card_goes_straight_to_staff(standin, client, staff_client):
    StaffFactory(email="desk@example.com")
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    flow.pay_a_second_session()
    flow.deliver(flow.events())
    run_tasks()
    flow.deliver(flow.events())
    duplicate = Refund.objects.get(reason=RefundReason.DUPLICATE_PAYMENT)
    assert duplicate.status == RefundStatus.SUCCEEDED

    # A card that is gone cannot take the money back: issuing it again to it cannot help.
    flow.deliver(with_repeats(fail_at_the_bank(flow, duplicate, "expired_or_canceled_card")))

    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.follow_up) == (RefundStatus.FAILED, RefundFollowUp.NEEDS_STAFF)
    assert not Refund.objects.filter(reissue_of=duplicate).exists()
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)  # the first payment stands
    assert OutboundEmail.objects.filter(key=f"refund-returned:{duplicate.pk}:desk@example.com").count() == 1
    assert "could not be returned" in appointment.log_entries.last().message
    page = detail_page(appointment)
    assert "This refund did not go through because the card has expired or was canceled." in page

    listed = staff_client.get("/admin/payments/refund/?follow_up__exact=needs_staff").content.decode()
    assert f"/admin/payments/refund/{duplicate.pk}/change/" in listed
    response = staff_client.post(
        "/admin/payments/refund/", {"action": "mark_settled", "_selected_action": [duplicate.pk]}, follow=True
    )
    assert "1 refund(s) marked as settled with the patient." in response.content.decode()
    duplicate.refresh_from_db()
    assert duplicate.follow_up == RefundFollowUp.SETTLED


# -- 2.2 charge.refunded alone, and with refund.* events in any order ---------------------------


@pytest.mark.parametrize(("amount", "appointment_status", "payment_status"), [
    (1000, A.CONFIRMED, P.PARTIALLY_REFUNDED),
    (None, A.CANCELED, P.REFUNDED),
])  # fmt: skip
def test_a_dashboard_refund_told_only_by_charge_refunded_is_recorded(
    older_stripe_api, client, amount, appointment_status, payment_status
):
    flow = Flow(older_stripe_api, client)
    flow.pay()
    flow.deliver(flow.events())
    stripe_refund = older_stripe_api.refund(flow.payment_intent_id, amount=amount)
    events = flow.events()
    assert types(events) == ["charge.refunded"]  # no refund.created on this API version

    flow.deliver(with_repeats(events))
    charge_refunds_list()

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (appointment_status, payment_status)
    row = Refund.objects.get(stripe_refund_id=stripe_refund["id"])
    assert (row.payment, row.amount, row.reason) == (appointment.payment, amount or 5000, RefundReason.STRIPE)


@pytest.mark.django_db(transaction=True)  # the real task worker manages its own connections
def test_charge_refunded_calls_no_stripe_in_the_webhook_and_the_worker_records_the_refund(older_stripe_api, client):
    flow = Flow(older_stripe_api, client)
    flow.pay()
    flow.deliver(flow.events())
    stripe_refund = older_stripe_api.refund(flow.payment_intent_id, amount=1000)
    events = flow.events()
    assert types(events) == ["charge.refunded"]

    def refund_listings() -> list[str]:
        return [call for call in older_stripe_api.api_calls() if call.startswith("GET /v1/refunds")]

    flow.deliver(events)
    assert refund_listings() == []  # nothing of ours calls Stripe while the webhook's transaction is held
    assert flow.refresh().payment.status == P.PAID  # not known yet
    assert ChargeRefundsSync.objects.get().status == ChargeRefundsSyncStatus.PENDING

    run_tasks()

    assert len(refund_listings()) == 1
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PARTIALLY_REFUNDED)
    assert Refund.objects.get().stripe_refund_id == stripe_refund["id"]
    assert ChargeRefundsSync.objects.get().status == ChargeRefundsSyncStatus.DONE


def test_listing_refunds_while_stripe_is_down_is_retried_after_a_backoff(older_stripe_api, client):
    flow = Flow(older_stripe_api, client)
    flow.pay()
    flow.deliver(flow.events())
    older_stripe_api.refund(flow.payment_intent_id, amount=1000)
    flow.deliver(flow.events())
    older_stripe_api.control(
        "config", fail_api={"mode": "500", "count": 10, "path_prefix": "/v1/refunds", "method": "GET"}
    )

    with pytest.raises(StripeUnavailable):
        charge_refunds_list()

    sync = ChargeRefundsSync.objects.get()
    assert (sync.status, sync.attempts, sync.claimed_until) == (ChargeRefundsSyncStatus.PENDING, 1, None)
    assert sync.last_error and sync.next_attempt_at > timezone.now()
    assert flow.refresh().payment.status == P.PAID
    older_stripe_api.control("config", fail_api=None)

    charge_refunds_sync(sync_id=sync.pk, now=sync.next_attempt_at)

    assert flow.refresh().payment.status == P.PARTIALLY_REFUNDED
    assert ChargeRefundsSync.objects.get().status == ChargeRefundsSyncStatus.DONE


def test_a_listed_refund_we_cannot_use_is_handed_to_staff_and_the_others_recorded(older_stripe_api, client):
    StaffFactory(email="desk@example.com")
    flow = Flow(older_stripe_api, client)
    flow.pay()
    flow.deliver(flow.events())
    api_key = older_stripe_api.process.api_key
    stripe.Refund.create(
        payment_intent=flow.payment_intent_id, amount=700, metadata={"hospital_refund_id": "999999"}, api_key=api_key
    )
    kept = older_stripe_api.refund(flow.payment_intent_id, amount=1000)
    flow.deliver(flow.events())

    charge_refunds_list()

    sync = ChargeRefundsSync.objects.get()
    assert sync.status == ChargeRefundsSyncStatus.FAILED and "refund #999999" in sync.last_error
    assert list(Refund.objects.values_list("stripe_refund_id", flat=True)) == [kept["id"]]
    assert flow.refresh().payment.refunded_amount == 1000
    alert = OutboundEmail.objects.get(to="desk@example.com")
    assert flow.payment_intent_id in alert.subject and "refund #999999" in alert.body


def test_charge_refunded_and_refund_events_over_the_webhook_count_each_refund_once(standin, client):
    for order in ("as_created", "refund first"):
        flow = Flow(standin, client)
        flow.pay()
        flow.deliver(flow.events())
        standin.refund(flow.payment_intent_id, amount=1000)
        events = flow.events()
        assert types(events) == ["charge.refunded", "refund.created"]
        flow.deliver(with_repeats(events if order == "as_created" else events[::-1]))
        assert flow.refresh().payment.status == P.PARTIALLY_REFUNDED
        assert flow.appointment.payment.refunded_amount == 1000
        assert Refund.objects.filter(payment=flow.appointment.payment).count() == 1


def record(event: dict) -> None:
    """What the receivers do with each event type, called directly."""
    obj = event["data"]["object"]
    if event["type"].startswith("checkout.session."):
        checkout_session_record(session=obj)
    elif event["type"] == "charge.refunded":
        charge_record(charge=obj)
        charge_refunds_list()
    else:
        refund_record(refund=obj)


def paid_and_recorded(standin, client) -> Flow:
    flow = Flow(standin, client)
    flow.pay()
    for event in flow.events():
        record(event)
    return flow


def test_two_dashboard_refunds_told_twice_each_in_every_order_are_counted_once(standin, client):
    for order in itertools.permutations(range(4)):
        flow = paid_and_recorded(standin, client)
        standin.refund(flow.payment_intent_id, amount=1000)
        standin.refund(flow.payment_intent_id, amount=1500)
        events = flow.events()
        assert types(events) == ["charge.refunded", "refund.created"] * 2
        for index in order:
            record(events[index])
        payment = flow.refresh().payment
        told = [events[i]["type"] for i in order]
        assert (payment.status, payment.refunded_amount) == (P.PARTIALLY_REFUNDED, 2500), told
        assert Refund.objects.filter(payment=payment).count() == 2


def test_a_refund_that_fails_after_charge_refunded_gives_the_money_back_in_every_order(standin, client):
    for order in itertools.permutations(range(4)):
        flow = paid_and_recorded(standin, client)
        refund = standin.refund(flow.payment_intent_id, amount=2000)
        standin.control(f"refunds/{refund['id']}/fail")
        events = flow.events()
        assert types(events) == [
            "charge.refunded", "refund.created", "refund.updated", "charge.refund.updated", "refund.failed",
        ]  # fmt: skip
        # The legacy charge.refund.updated carries the same refund as refund.updated: 4! orders suffice.
        events = [event for event in events if event["type"] != "charge.refund.updated"]
        for index in order:
            record(events[index])
        appointment = flow.refresh()
        assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID), [
            events[i]["type"] for i in order
        ]
        assert Refund.objects.get(stripe_refund_id=refund["id"]).status == RefundStatus.FAILED


def test_a_failed_dashboard_refund_after_charge_refunded_over_the_webhook_gives_the_money_back(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    refund = standin.refund(flow.payment_intent_id, amount=2000)
    charge_refunded = [e for e in flow.events() if e["type"] == "charge.refunded"]
    flow.deliver(charge_refunded)  # the refund.created event is lost
    charge_refunds_list()
    assert flow.refresh().payment.status == P.PARTIALLY_REFUNDED

    standin.control(f"refunds/{refund['id']}/fail")
    flow.deliver([*flow.events(), *charge_refunded])  # and the old charge snapshot comes again, late
    charge_refunds_list()

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)


# -- 2.3 the full refund's events before the payment's ------------------------------------------


def test_a_full_refund_told_before_the_payment_never_confirms_and_the_patient_is_told(standin, client):
    for refund_events_order in ("as_created", "reverse"):
        flow = Flow(standin, client)
        flow.pay()
        completed = flow.events()
        assert types(completed) == ["checkout.session.completed"]
        standin.refund(flow.payment_intent_id)
        refund_events = flow.events()
        if refund_events_order == "reverse":
            refund_events.reverse()

        flow.deliver(with_repeats([*refund_events, *completed]))

        appointment = flow.refresh()
        assert (appointment.status, appointment.payment.status) == (A.CANCELED, P.REFUNDED)
        assert appointment.cancel_reason == CancelReason.REFUNDED
        sent = OutboundEmail.objects.filter(to=appointment.patient.email)
        assert [email.subject for email in sent] == [
            f"Booking #{appointment.pk} canceled: your payment was refunded"
        ], refund_events_order
        assert "because its payment of $50.00 was refunded in full" in " ".join(sent.get().body.split())
        assert "refunded in full, so the appointment is canceled" in appointment.log_entries.last().message


def test_a_full_refund_after_the_confirmation_cancels_and_tells_the_patient_once(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    standin.refund(flow.payment_intent_id)

    flow.deliver(with_repeats(flow.events()))

    appointment = flow.refresh()
    assert appointment.status == A.CANCELED
    assert sorted(OutboundEmail.objects.filter(to=appointment.patient.email).values_list("key", flat=True)) == [
        f"appointment-canceled-refunded:{appointment.pk}",
        f"appointment-confirmed:{appointment.pk}",
    ]
    assert "Your payment was refunded in full" in detail_page(appointment)


# -- 2.4 refund.created racing checkout.session.completed on PostgreSQL --------------------------


def at_once(first, second, *, second_delay: float) -> list[Exception]:
    """Run both in threads (own connections) from one start, the second `second_delay` s later."""
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def run(function, delay):
        try:
            barrier.wait()
            time.sleep(delay)
            function()
        except Exception as error:  # the test reports it
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(first, 0.0)),
        threading.Thread(target=run, args=(second, second_delay)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_refund_told_while_its_payment_is_being_recorded_is_attached_to_it(standin, client):
    """Both services at once, the refund's start staggered a little more each round so that it
    falls at every point of the payment's transaction."""
    for round_number in range(30):
        flow = Flow(standin, client)
        flow.pay()
        [completed] = flow.events()
        standin.refund(flow.payment_intent_id, amount=1000)
        refund = next(e for e in flow.events() if e["type"] == "refund.created")["data"]["object"]

        errors = at_once(
            lambda: checkout_session_record(session=completed["data"]["object"]),  # noqa: B023 - joined at once
            lambda: refund_record(refund=refund),  # noqa: B023
            second_delay=round_number * 0.002,
        )

        assert errors == []
        row = Refund.objects.get(stripe_refund_id=refund["id"])
        appointment = flow.refresh()
        assert row.payment_id == appointment.payment.pk, f"round {round_number}: the refund is attached to nothing"
        assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PARTIALLY_REFUNDED), round_number
