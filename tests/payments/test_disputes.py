"""Disputes, one record per Stripe dispute: every status Stripe reports, in any order of events,
and a payment's dispute fact derived from all of its disputes (issue 8, faults 2.6 and 2.7)."""

import itertools

import pytest

from appointments.models import AppointmentLogEntry
from appointments.models import AppointmentStatus as A
from payments.models import Dispute, Payment, UnusableEvent
from payments.models import PaymentStatus as P
from tests.payments import handmade
from tests.payments.flows import Flow, with_repeats
from tests.payments.stripe_events import post_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def inquiry_closed_then_a_new_dispute(flow):
    inquiry = handmade.dispute(flow, status="warning_needs_response")
    chargeback = handmade.dispute(flow, status="needs_response")
    return [
        handmade.event("charge.dispute.created", inquiry),
        handmade.event("charge.dispute.closed", {**inquiry, "status": "warning_closed"}),
        handmade.event("charge.dispute.created", chargeback),
    ]


def prevented(flow):
    dispute = handmade.dispute(flow, status="warning_needs_response")
    return [
        handmade.event("charge.dispute.created", dispute),
        handmade.event("charge.dispute.closed", {**dispute, "status": "prevented"}),
    ]


def won(flow):
    dispute = flow.standin.control(f"charges/{flow.charge_id}/dispute", reason="fraudulent")
    flow.standin.control(f"disputes/{dispute['id']}/close", status="won")
    return flow.events()


def lost(flow):
    dispute = flow.standin.control(f"charges/{flow.charge_id}/dispute", reason="fraudulent")
    flow.standin.control(f"disputes/{dispute['id']}/close", status="lost")
    return flow.events()


def inquiry_under_review_becomes_a_chargeback(flow):
    # The same dispute moves from inquiry to chargeback to lost; a late "created" snapshot of an
    # earlier stage must not move it back.
    dispute = handmade.dispute(flow, status="warning_under_review")
    return [
        handmade.event("charge.dispute.created", dispute),
        handmade.event("charge.dispute.created", {**dispute, "status": "under_review"}),
        handmade.event("charge.dispute.closed", {**dispute, "status": "lost"}),
    ]


SCENARIOS = {
    # the payment's status, and the statuses of its disputes
    "inquiry closed, then a new dispute": (
        inquiry_closed_then_a_new_dispute,
        P.DISPUTED,
        ["warning_closed", "needs_response"],
    ),
    "prevented": (prevented, P.PAID, ["prevented"]),
    "won": (won, P.PAID, ["won"]),
    "lost": (lost, P.DISPUTE_LOST, ["lost"]),
}


def paid_flow_with_events(standin, client, scenario):
    flow = handmade.paid_flow(standin, client)
    return flow, scenario(flow)


@pytest.mark.parametrize("name", SCENARIOS)
def test_dispute_outcome_whatever_the_order_of_events(name, standin, client):
    scenario, payment_status, dispute_statuses = SCENARIOS[name]
    _, events = paid_flow_with_events(standin, client, scenario)
    for order in itertools.permutations(range(len(events))):
        flow, events = paid_flow_with_events(standin, client, scenario)
        flow.deliver(with_repeats([events[i] for i in order]))

        appointment = flow.refresh()
        assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, payment_status), order
        disputes = Dispute.objects.filter(payment=appointment.payment)
        assert sorted(d.status for d in disputes) == sorted(dispute_statuses), order
    assert not UnusableEvent.objects.exists()


def test_each_dispute_is_one_row_with_its_own_status_and_the_timeline_tells_each_change(standin, client):
    flow = handmade.paid_flow(standin, client)
    [first, closed, second] = inquiry_closed_then_a_new_dispute(flow)

    flow.deliver([first, closed, second])

    payment = flow.refresh().payment
    rows = {row.stripe_dispute_id: row for row in payment.disputes.all()}
    assert rows[first["data"]["object"]["id"]].status == "warning_closed"
    assert rows[second["data"]["object"]["id"]].status == "needs_response"
    assert (rows[second["data"]["object"]["id"]].amount, payment.dispute_status) == (5000, "open")
    messages = list(flow.appointment.log_entries.values_list("message", flat=True))
    assert messages[-3:] == [
        "Card dispute: inquiry, needs a response.",
        "Card dispute: inquiry closed without a chargeback.",
        "Card dispute: chargeback, needs a response.",
    ]


def test_an_inquiry_that_becomes_a_chargeback_and_is_lost_whatever_the_order(standin, client):
    _, events = paid_flow_with_events(standin, client, inquiry_under_review_becomes_a_chargeback)
    for order in itertools.permutations(range(len(events))):
        flow, events = paid_flow_with_events(standin, client, inquiry_under_review_becomes_a_chargeback)
        flow.deliver([events[i] for i in order])
        assert flow.refresh().payment.status == P.DISPUTE_LOST
        assert list(flow.appointment.payment.disputes.values_list("status", flat=True)) == ["lost"]


@pytest.mark.parametrize(
    "status",
    [
        "warning_needs_response",
        "warning_under_review",
        "warning_closed",
        "needs_response",
        "under_review",
        "won",
        "lost",
        "prevented",
    ],
)
def test_every_status_stripe_documents_is_understood(status, standin, client):
    flow = handmade.paid_flow(standin, client)
    flow.deliver([handmade.event("charge.dispute.created", handmade.dispute(flow, status=status))])

    payment = flow.refresh().payment
    assert payment.disputes.get().status == status
    expected = {"lost": P.DISPUTE_LOST}.get(status, P.DISPUTED if "review" in status or "needs" in status else P.PAID)
    assert payment.status == expected
    assert not UnusableEvent.objects.exists()


def test_a_dispute_status_stripe_does_not_document_is_recorded_for_staff(standin, client):
    flow = handmade.paid_flow(standin, client)
    odd = handmade.event("charge.dispute.created", handmade.dispute(flow, status="escalated_somehow"))

    assert post_event(client, odd).status_code == 200

    assert flow.refresh().payment.status == P.PAID
    assert not Dispute.objects.exists()
    unusable = UnusableEvent.objects.get()
    assert (unusable.event_id, unusable.event_type) == (odd["id"], "charge.dispute.created")
    assert "escalated_somehow" in unusable.reason


class TestMatchedByChargeOrPaymentIntentNotMetadata:
    """Fault 2.6: a dispute names its charge and payment intent; metadata can say anything."""

    def test_a_dispute_naming_another_patients_unpaid_payment_leaves_it_alone(self, standin, client):
        victim = Flow(standin, client)
        payment = victim.appointment.payment
        log_before = AppointmentLogEntry.objects.filter(appointment=victim.appointment).count()
        forged = handmade.dispute(metadata={"hospital_payment_id": str(payment.pk)})

        victim.deliver(
            [
                handmade.event("charge.dispute.created", forged),
                handmade.event("charge.dispute.closed", {**forged, "status": "lost"}),
            ]
        )

        payment.refresh_from_db()
        assert (payment.status, payment.dispute_status) == (P.UNPAID, "")
        assert AppointmentLogEntry.objects.filter(appointment=victim.appointment).count() == log_before
        recorded = Dispute.objects.get()  # recorded apart, for staff
        assert (recorded.payment, recorded.status, recorded.stripe_dispute_id) == (None, "lost", forged["id"])
        assert "not one of our payments" in recorded.note

    def test_a_dispute_naming_another_patients_paid_payment_leaves_it_alone(self, standin, client):
        victim = handmade.paid_flow(standin, client)
        forged = handmade.dispute(metadata={"hospital_payment_id": str(victim.appointment.payment.pk)})

        victim.deliver([handmade.event("charge.dispute.created", forged)])

        assert victim.refresh().payment.status == P.PAID
        assert Dispute.objects.get().payment is None

    def test_a_dispute_matched_through_the_synced_charge_when_it_names_no_payment_intent(self, standin, client):
        flow = handmade.paid_flow(standin, client)
        dispute = flow.standin.control(f"charges/{flow.charge_id}/dispute", reason="fraudulent")
        [created] = [e for e in flow.events() if e["type"] == "charge.dispute.created"]
        created["data"]["object"]["payment_intent"] = None  # older API versions

        flow.deliver([created])

        assert flow.refresh().payment.status == P.DISPUTED
        assert Dispute.objects.get().stripe_dispute_id == dispute["id"]

    def test_a_dispute_on_a_payment_that_captured_nothing_is_recorded_apart(self, standin, client):
        flow = Flow(standin, client)
        payment = flow.appointment.payment
        # The session completed with a bank debit still processing: the intent is known, no money yet.
        Payment.objects.filter(pk=payment.pk).update(payment_intent_id="pi_processing")
        dispute = handmade.dispute(payment_intent="pi_processing")

        flow.deliver([handmade.event("charge.dispute.created", dispute)])

        payment.refresh_from_db()
        assert (payment.status, payment.dispute_status) == (P.UNPAID, "")
        recorded = Dispute.objects.get()
        assert recorded.payment is None
        assert f"payment #{payment.pk}" in recorded.note and "captured nothing" in recorded.note


def test_staff_see_the_disputes_on_the_payment_and_in_their_own_list(standin, client, staff_client):
    flow = handmade.paid_flow(standin, client)
    flow.deliver(inquiry_closed_then_a_new_dispute(flow))
    payment = flow.refresh().payment
    stray = handmade.dispute(status="lost")
    flow.deliver([handmade.event("charge.dispute.closed", stray)])

    page = staff_client.get(f"/admin/payments/payment/{payment.pk}/change/").content.decode()
    for row in payment.disputes.all():
        assert row.stripe_dispute_id in page
    assert "Inquiry closed without a chargeback" in page
    assert "Chargeback, needs a response" in page
    listing = staff_client.get("/admin/payments/dispute/").content.decode()
    assert stray["id"] in listing
    assert staff_client.get("/admin/payments/dispute/?payment__isempty=1").status_code == 200
    assert staff_client.get("/admin/payments/dispute/add/").status_code == 403


def test_a_prevented_dispute_leaves_every_staff_page_readable(standin, client, staff_client):
    """dj-stripe's own Dispute admin cannot name a "prevented" dispute (500): it is hidden, and
    staff read the dispute in ours."""
    flow = handmade.paid_flow(standin, client)
    flow.deliver(prevented(flow))
    payment = flow.refresh().payment

    assert staff_client.get("/admin/djstripe/dispute/").status_code == 404
    assert staff_client.get("/admin/").status_code == 200
    listing = staff_client.get("/admin/payments/dispute/")
    assert listing.status_code == 200
    assert payment.disputes.get().stripe_dispute_id in listing.content.decode()
    assert staff_client.get(f"/admin/payments/payment/{payment.pk}/change/").status_code == 200
