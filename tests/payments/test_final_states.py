"""DESIGN §4's final-state table: whatever the order or repetition of Stripe's events, one
appointment ends in one state. Each scenario runs against the Stripe stand-in, and its events are
delivered, signed, to the real webhook URL in every order, with repeats."""

import datetime as dt
import itertools

import pytest
import time_machine
from django.core import mail
from djstripe.models import Event

from appointments.emails import visit_headline
from appointments.models import Appointment
from appointments.models import AppointmentStatus as A
from appointments.services import BookingError, appointments_expire_lapsed_holds
from hospital.models import OutboundEmail
from payments.models import PaymentStatus as P
from payments.models import Refund, RefundReason, RefundStatus, UnusableEvent
from payments.services import checkout_redirect_url
from tests.factories import PatientFactory, hold_slot
from tests.payments.flows import Flow, run_tasks, with_repeats

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def paid(flow):
    flow.pay()
    return flow.events()


def expired_unpaid(flow):
    flow.standin.expire(flow.session_id)
    return flow.events()


def first_attempt_expired_second_paid(flow):
    # The patient comes back 34 minutes later: the first session is about to expire, so "resume
    # payment" closes it at Stripe and opens a second attempt, which they pay.
    later = flow.appointment.created_at + dt.timedelta(minutes=34)
    flow.session_id = flow.open_checkout(now=later)
    flow.pay()
    return flow.events()


def async_succeeded(flow):
    flow.standin.control(f"checkout/sessions/{flow.session_id}/pay_async")
    flow.standin.control(f"checkout/sessions/{flow.session_id}/async_result", succeeded=True)
    return flow.events()


def async_failed(flow):
    flow.standin.control(f"checkout/sessions/{flow.session_id}/pay_async")
    flow.standin.control(f"checkout/sessions/{flow.session_id}/async_result", succeeded=False)
    return flow.events()


def declined_then_paid(flow):
    flow.pay(card="4000000000000002")
    flow.pay()
    return flow.events()


def paid_then_refunded_in_full(flow):
    flow.pay()
    flow.standin.refund(flow.payment_intent_id)
    return flow.events()


def paid_then_partly_refunded(flow):
    flow.pay()
    flow.standin.refund(flow.payment_intent_id, amount=1000)
    return flow.events()


def paid_then_dispute_lost(flow):
    flow.pay()
    dispute = flow.standin.control(f"charges/{flow.charge_id}/dispute", reason="fraudulent")
    flow.standin.control(f"disputes/{dispute['id']}/close", status="lost")
    return flow.events()


def paid_then_dispute_opened(flow):
    flow.pay()
    flow.standin.control(f"charges/{flow.charge_id}/dispute", reason="fraudulent")
    return flow.events()


def paid_refunded_in_full_and_disputed(flow):
    flow.pay()
    flow.standin.refund(flow.payment_intent_id)
    flow.standin.control(f"charges/{flow.charge_id}/dispute", reason="fraudulent", amount=5000)
    return flow.events()


ROWS = {
    "session completed (paid)": (paid, A.CONFIRMED, P.PAID),
    "session expired, nothing paid": (expired_unpaid, A.EXPIRED, P.UNPAID),
    "one attempt expired, a later one completed": (first_attempt_expired_second_paid, A.CONFIRMED, P.PAID),
    "completed (unpaid) + async succeeded": (async_succeeded, A.CONFIRMED, P.PAID),
    "card declined, then paid": (declined_then_paid, A.CONFIRMED, P.PAID),
    "paid, then refunded in full before the visit": (paid_then_refunded_in_full, A.CANCELED, P.REFUNDED),
    "paid, then partly refunded": (paid_then_partly_refunded, A.CONFIRMED, P.PARTIALLY_REFUNDED),
    "paid, dispute opened": (paid_then_dispute_opened, A.CONFIRMED, P.DISPUTED),
    "paid, dispute lost": (paid_then_dispute_lost, A.CONFIRMED, P.DISPUTE_LOST),
    "paid, refunded in full, dispute opened": (paid_refunded_in_full_and_disputed, A.CANCELED, P.DISPUTED),
}


@pytest.mark.parametrize("row", ROWS)
def test_final_state_whatever_the_order_of_events(row, standin, client):
    scenario, appointment_status, payment_status = ROWS[row]
    event_count = len(scenario(Flow(standin, client)))
    assert event_count >= 1
    for order in itertools.permutations(range(event_count)):
        flow = Flow(standin, client)
        events = scenario(flow)
        delivered = with_repeats([events[i] for i in order])
        flow.deliver(delivered)
        appointment = flow.refresh()
        assert (appointment.status, appointment.payment.status) == (appointment_status, payment_status), [
            event["type"] for event in delivered
        ]


def test_async_failure_keeps_the_reason_and_the_hold_then_lapses_to_expired(standin, client):
    flow = Flow(standin, client)
    flow.deliver(with_repeats(async_failed(flow)))
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.PENDING_PAYMENT, P.UNPAID)

    appointments_expire_lapsed_holds(now=appointment.hold_expires_at + dt.timedelta(seconds=1))

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.EXPIRED, P.UNPAID)
    assert appointment.payment.last_failure_reason == "The bank payment did not go through."


def lapse_hold(flow) -> None:
    appointments_expire_lapsed_holds(now=flow.appointment.hold_expires_at + dt.timedelta(seconds=1))
    assert flow.refresh().status == A.EXPIRED


def paid_after_the_slot_was_taken(standin, client) -> tuple[Flow, Appointment]:
    """The patient paid at Stripe (its events not yet delivered), but the hold had lapsed and
    another patient holds the slot now: returns the flow and the newcomer's appointment."""
    flow = Flow(standin, client)
    flow.pay()
    lapse_hold(flow)
    return flow, hold_slot(patient=PatientFactory(), slot=flow.slot)


def test_payment_after_the_hold_lapsed_confirms_when_the_slot_is_still_free(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    lapse_hold(flow)

    flow.deliver(with_repeats(flow.events()))

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    assert any("slot was still free" in entry.message for entry in appointment.log_entries.all())
    assert OutboundEmail.objects.filter(key=f"appointment-confirmed:{appointment.pk}").count() == 1


@pytest.mark.django_db(transaction=True)  # the real task worker manages its own connections
def test_payment_after_the_slot_was_taken_is_refunded_in_full_automatically(standin, client):
    flow, newcomer = paid_after_the_slot_was_taken(standin, client)

    flow.deliver(with_repeats(flow.events()))
    run_tasks()  # the refund worker
    flow.deliver(flow.events())  # charge.refunded from Stripe

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.EXPIRED, P.REFUNDED)
    refund = Refund.objects.get(payment=appointment.payment)
    assert (refund.reason, refund.status, refund.amount) == (RefundReason.LATE_PAYMENT, RefundStatus.SUCCEEDED, 5000)
    stripe_refunds = standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"]
    assert [(r["amount"], r["metadata"]["hospital_refund_id"]) for r in stripe_refunds] == [(5000, str(refund.pk))]
    newcomer.refresh_from_db()
    assert newcomer.status == A.PENDING_PAYMENT
    # One e-mail per fact: the hold ended, the late money is coming back, and then it has.
    assert [m.subject for m in mail.outbox if m.to == [appointment.patient.email]] == [
        f"Your hold has ended: {visit_headline(appointment)}",
        "Your payment is being refunded",
        "Your refund of $50.00 has gone through",
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", ["500", "timeout"])
def test_the_automatic_refund_survives_a_stripe_failure_on_first_try(standin, client, failure, monkeypatch):
    import stripe

    from hospital.outbox import outbox_sweep

    # A short client timeout keeps the "timeout" case quick; Stripe hangs longer than that.
    monkeypatch.setattr(stripe, "default_http_client", stripe.RequestsClient(timeout=0.5))
    flow, _ = paid_after_the_slot_was_taken(standin, client)
    standin.control(
        "config", fail_api={"mode": failure, "count": 1, "path_prefix": "/v1/refunds", "timeout_seconds": 1.5}
    )

    flow.deliver(flow.events())
    run_tasks()  # first attempt: Stripe fails (a 500, or no answer in time)
    refund = Refund.objects.get(payment=flow.appointment.payment)
    assert refund.status == RefundStatus.REQUESTED
    assert refund.attempts == 1 and refund.last_error

    standin.control("wait", timeout=5)  # a timed-out request may still finish at Stripe
    with time_machine.travel(refund.next_attempt_at + dt.timedelta(seconds=1)):  # the backoff has passed
        assert outbox_sweep() == 1
        run_tasks()  # second attempt
    flow.deliver(flow.events())

    refund.refresh_from_db()
    appointment = flow.refresh()
    assert refund.status == RefundStatus.SUCCEEDED
    assert (appointment.status, appointment.payment.status) == (A.EXPIRED, P.REFUNDED)
    # Exactly one refund at Stripe, whether the first call never happened or happened unheard.
    stripe_refunds = standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"]
    assert sum(r["amount"] for r in stripe_refunds) == 5000


def test_a_refund_after_the_visit_never_moves_the_appointment(standin, client):
    from appointments.models import Appointment

    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    for status in (A.IN_PROGRESS, A.COMPLETED, A.NO_SHOW):
        Appointment.objects.filter(pk=flow.appointment.pk).update(status=status)  # as the doctor portal will
        flow.standin.refund(flow.payment_intent_id, amount=1000)
        flow.deliver(flow.events())
        appointment = flow.refresh()
        assert appointment.status == status
    assert appointment.payment.status == P.PARTIALLY_REFUNDED
    flow.standin.refund(flow.payment_intent_id)
    flow.deliver(flow.events())
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.NO_SHOW, P.REFUNDED)


def test_a_failed_refund_gives_the_money_back_to_the_payment(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    refund = flow.standin.refund(flow.payment_intent_id, amount=2000)
    flow.deliver(flow.events())
    assert flow.refresh().payment.status == P.PARTIALLY_REFUNDED

    flow.standin.control(f"refunds/{refund['id']}/fail")
    events = flow.events()
    assert "refund.updated" in [e["type"] for e in events]
    flow.deliver(events)

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    assert Refund.objects.get(stripe_refund_id=refund["id"]).status == RefundStatus.FAILED


def test_resume_payment_reuses_the_open_session(standin, client):
    flow = Flow(standin, client)
    first = flow.session_id
    assert flow.open_checkout() == first
    assert checkout_redirect_url(appointment_id=flow.appointment.pk, site_url="http://testserver").endswith(first)
    assert len(standin.get("checkout/sessions")["data"]) == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_payment_for_one_booking_is_given_back_and_the_first_is_kept(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    second_id = flow.pay_a_second_session()
    flow.deliver(with_repeats(flow.events()))
    run_tasks()
    flow.deliver(flow.events())

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    duplicate = Refund.objects.get(reason=RefundReason.DUPLICATE_PAYMENT)
    assert duplicate.status == RefundStatus.SUCCEEDED
    second_intent = standin.get(f"checkout/sessions/{second_id}")["payment_intent"]
    assert duplicate.payment_intent_id == second_intent != appointment.payment.payment_intent_id
    assert [r["amount"] for r in standin.get(f"refunds?payment_intent={second_intent}")["data"]] == [5000]
    assert standin.get(f"refunds?payment_intent={appointment.payment.payment_intent_id}")["data"] == []
    assert "second payment" in appointment.log_entries.last().message
    # Stripe's charge.refunded for the second charge names our payment in metadata: it is known as
    # the duplicate by its refund row, recorded there, and no false alert goes to staff.
    charge_events = Event.objects.filter(type="charge.refunded")
    assert [e.data["object"]["payment_intent"] for e in charge_events] == [second_intent]
    assert list(UnusableEvent.objects.values_list("reason", flat=True)) == []
    assert Refund.objects.count() == 1


def test_late_payment_expires_someone_elses_lapsed_hold_first_instead_of_failing(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    lapse_hold(flow)
    # Someone books the freed slot and lets that hold lapse too; nothing has swept it.
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    other = hold_slot(patient=PatientFactory(), slot=flow.slot, now=an_hour_ago)

    flow.deliver(flow.events())

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    other.refresh_from_db()
    assert other.status == A.EXPIRED


def test_paying_by_card_after_a_failed_bank_payment_confirms_without_any_refund(standin, client):
    flow = Flow(standin, client)
    flow.deliver(async_failed(flow))
    later = flow.appointment.created_at + dt.timedelta(minutes=1)
    flow.session_id = flow.open_checkout(now=later + dt.timedelta(minutes=33))  # resume: a new session
    flow.pay()
    flow.deliver(flow.events())

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    assert not Refund.objects.exists()


def test_an_inquiry_closed_without_a_chargeback_is_not_a_dispute_any_more(standin, client):
    from payments.services import dispute_record

    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    inquiry = {"id": "dp_inquiry", "object": "dispute", "charge": flow.charge_id, "amount": 5000, "currency": "usd"}
    inquiry["payment_intent"] = flow.payment_intent_id

    dispute_record(dispute={**inquiry, "status": "warning_needs_response"})
    assert flow.refresh().payment.status == P.DISPUTED
    dispute_record(dispute={**inquiry, "status": "warning_closed"})
    dispute_record(dispute={**inquiry, "status": "warning_needs_response"})  # a late, older event

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)


def test_resume_cannot_hold_a_slot_past_the_cap(standin, client, settings):
    flow = Flow(standin, client)
    booked = flow.appointment.created_at
    assert settings.HOLD_MAX_MINUTES == 120
    flow.open_checkout(now=booked + dt.timedelta(minutes=34))  # the hold now ends at +74 min
    flow.open_checkout(now=booked + dt.timedelta(minutes=67))  # and now at +107 min
    with pytest.raises(BookingError, match="held for as long as we can"):
        checkout_redirect_url(
            appointment_id=flow.appointment.pk, site_url="http://testserver", now=booked + dt.timedelta(minutes=100)
        )
    # Refused before anything changed at Stripe: the open session is still open.
    assert flow.refresh().status == A.PENDING_PAYMENT
    latest = flow.appointment.payment.checkout_attempts.first()
    assert standin.get(f"checkout/sessions/{latest.session_id}")["status"] == "open"


def test_a_full_refund_that_fails_after_the_cancellation_is_flagged_to_staff(standin, client):
    from tests.factories import StaffFactory

    StaffFactory(email="desk@example.com")
    flow = Flow(standin, client)
    flow.pay()
    refund = flow.standin.refund(flow.payment_intent_id)
    flow.deliver(flow.events())
    assert flow.refresh().status == A.CANCELED

    flow.standin.control(f"refunds/{refund['id']}/fail")
    flow.deliver(with_repeats(flow.events()))

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CANCELED, P.PAID)
    alert = OutboundEmail.objects.get(to="desk@example.com")
    assert alert.subject == f"Payment #{appointment.payment.pk} holds money for a canceled appointment"
