"""Signed events we cannot use are acknowledged and recorded for staff, never retried for three
days (issue 8 section 3); objects naming another patient's payment in their metadata change
nothing of that patient's (fault 2.6). Every event goes through the real webhook URL."""

import pytest
from django.test import Client
from djstripe.models import Charge as SyncedCharge
from djstripe.models import Dispute as SyncedDispute
from djstripe.models import Event, WebhookEventTrigger
from djstripe.models import Session as SyncedSession

from appointments.models import AppointmentStatus as A
from payments.models import Dispute, Refund, RefundReason, UnusableEvent
from payments.models import PaymentStatus as P
from tests.concurrency import run_concurrently
from tests.payments import handmade
from tests.payments.flows import Flow
from tests.payments.stripe_events import post_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def acknowledged_and_recorded(client, event: dict, *, reason: str) -> UnusableEvent:
    response = post_event(client, event)
    assert response.status_code == 200, response.content[:500]
    unusable = UnusableEvent.objects.get()
    assert (unusable.event_id, unusable.event_type) == (event["id"], event["type"])
    assert unusable.object_id == event["data"]["object"]["id"]
    assert reason in unusable.reason
    # dj-stripe keeps its own record of the event, so a redelivery is acknowledged at once.
    assert Event.objects.filter(id=event["id"]).exists()
    assert post_event(client, event).status_code == 200
    assert UnusableEvent.objects.count() == 1
    return unusable


def session(flow: Flow | None = None, **fields) -> dict:
    obj = {
        "id": flow.session_id if flow else handmade.new_id("cs"),
        "object": "checkout.session",
        "amount_total": 5000,
        "currency": "usd",
        "livemode": False,
        "metadata": {},
        "mode": "payment",
        "payment_intent": handmade.new_id("pi"),
        "payment_status": "paid",
        "status": "complete",
    }
    return {**obj, **fields}


class TestUnusableEventsAreAcknowledged:
    def test_a_metadata_id_that_is_a_digit_but_no_number(self, standin, client):
        assert "²".isdigit()
        odd = handmade.event("checkout.session.completed", session(metadata={"hospital_payment_id": "²"}))

        acknowledged_and_recorded(client, odd, reason="hospital_payment_id")

    def test_a_paid_session_without_an_amount(self, standin, client):
        flow = Flow(standin, client)
        odd = handmade.event("checkout.session.completed", session(flow, amount_total=None))

        acknowledged_and_recorded(client, odd, reason="amount_total")

        appointment = flow.refresh()
        assert (appointment.status, appointment.payment.status) == (A.PENDING_PAYMENT, P.UNPAID)
        assert appointment.payment.payment_intent_id is None
        assert appointment.payment.checkout_attempts.get().status == "open"  # nothing half-written

    def test_a_refund_of_nothing_for_an_unknown_payment_intent(self, standin, client):
        odd = handmade.event("refund.created", handmade.refund(amount=0))

        acknowledged_and_recorded(client, odd, reason="amount")

        assert not Refund.objects.exists()

    def test_a_refund_without_amount_or_currency_for_no_known_payment(self, standin, client):
        odd = handmade.event("refund.updated", handmade.refund(amount=None, currency=None))

        acknowledged_and_recorded(client, odd, reason="amount")

        assert not Refund.objects.exists()

    def test_a_refund_without_an_amount_for_a_known_payment_changes_nothing(self, standin, client):
        flow = handmade.paid_flow(standin, client)
        odd = handmade.event("refund.created", handmade.refund(amount=None, payment_intent=flow.payment_intent_id))

        acknowledged_and_recorded(client, odd, reason="amount")

        assert flow.refresh().payment.status == P.PAID
        assert not Refund.objects.exists()

    def test_staff_read_them_in_the_admin_and_cannot_change_them(self, standin, client, staff_client):
        odd = handmade.event("refund.created", handmade.refund(amount=0))
        unusable = acknowledged_and_recorded(client, odd, reason="amount")

        listing = staff_client.get("/admin/payments/unusableevent/").content.decode()
        assert odd["id"] in listing and "refund.created" in listing
        page = staff_client.get(f"/admin/payments/unusableevent/{unusable.pk}/change/").content.decode()
        assert unusable.reason in page
        assert staff_client.get("/admin/payments/unusableevent/add/").status_code == 403
        assert staff_client.post(f"/admin/payments/unusableevent/{unusable.pk}/delete/").status_code == 403


class TestAnotherPatientsPaymentNamedInMetadata:
    """Validly signed objects whose metadata names a payment their charge and intent are not of."""

    def test_a_refund_naming_another_payment_is_not_listed_on_it(self, standin, client):
        victim = handmade.paid_flow(standin, client)
        payment = victim.appointment.payment
        forged = handmade.refund(metadata={"hospital_payment_id": str(payment.pk)})

        acknowledged_and_recorded(client, handmade.event("refund.created", forged), reason=f"payment #{payment.pk}")

        assert not payment.refunds.exists()
        assert victim.refresh().payment.status == P.PAID

    def test_a_refund_naming_another_patients_refund_leaves_that_refund_alone(self, standin, client):
        victim = handmade.paid_flow(standin, client)
        payment = victim.appointment.payment
        ours = Refund.objects.create(
            payment=payment,
            payment_intent_id=victim.payment_intent_id,
            amount=5000,
            currency="usd",
            reason=RefundReason.LATE_PAYMENT,
        )
        forged = handmade.refund(amount=5000, metadata={"hospital_refund_id": str(ours.pk)})

        acknowledged_and_recorded(client, handmade.event("refund.updated", forged), reason=f"refund #{ours.pk}")

        ours.refresh_from_db()
        assert (ours.stripe_refund_id, ours.status) == (None, "requested")
        assert list(payment.refunds.all()) == [ours]

    def test_a_charge_naming_another_payment_requests_no_refund_of_a_stranger(self, standin, client):
        victim = handmade.paid_flow(standin, client)
        payment = victim.appointment.payment
        forged = {
            "id": handmade.new_id("ch"),
            "object": "charge",
            "amount": 5000,
            "amount_captured": 5000,
            "amount_refunded": 0,
            "captured": True,
            "currency": "usd",
            "metadata": {"hospital_payment_id": str(payment.pk)},
            "payment_intent": handmade.new_id("pi"),
            "refunded": False,
            "status": "succeeded",
        }

        acknowledged_and_recorded(client, handmade.event("charge.refunded", forged), reason=f"payment #{payment.pk}")

        assert not Refund.objects.exists()
        assert victim.refresh().payment.status == P.PAID

    def test_a_failed_payment_intent_naming_another_payment_writes_nothing_on_its_timeline(self, standin, client):
        victim = handmade.paid_flow(standin, client)
        payment = victim.appointment.payment
        log_before = list(victim.appointment.log_entries.values_list("message", flat=True))
        forged = {
            "id": handmade.new_id("pi"),
            "object": "payment_intent",
            "amount": 5000,
            "currency": "usd",
            "last_payment_error": {"message": "Call 0800 000 000 to unlock your card."},
            "metadata": {"hospital_payment_id": str(payment.pk)},
            "status": "requires_payment_method",
        }

        acknowledged_and_recorded(
            client, handmade.event("payment_intent.payment_failed", forged), reason=f"payment #{payment.pk}"
        )

        payment.refresh_from_db()
        assert payment.last_failure_reason == ""
        assert list(victim.appointment.log_entries.values_list("message", flat=True)) == log_before

    def test_a_session_naming_another_patients_unpaid_payment_does_not_confirm_it(self, standin, client):
        victim = Flow(standin, client)
        payment = victim.appointment.payment
        forged = session(metadata={"hospital_payment_id": str(payment.pk)})

        acknowledged_and_recorded(
            client, handmade.event("checkout.session.completed", forged), reason=f"payment #{payment.pk}"
        )

        appointment = victim.refresh()
        assert (appointment.status, appointment.payment.status) == (A.PENDING_PAYMENT, P.UNPAID)
        assert appointment.payment.payment_intent_id is None

    def test_a_failed_payment_intent_naming_an_unpaid_payment_of_another_customer_changes_nothing(
        self, standin, client
    ):
        victim = Flow(standin, client)
        payment = victim.appointment.payment
        log_before = list(victim.appointment.log_entries.values_list("message", flat=True))
        forged = {
            "id": handmade.new_id("pi"),
            "object": "payment_intent",
            "amount": payment.amount,
            "currency": payment.currency,
            "customer": handmade.someone_elses_customer(standin),
            "last_payment_error": {"message": "Call 0800 000 000 to unlock your card."},
            "metadata": _naming(payment),
            "status": "requires_payment_method",
        }

        acknowledged_and_recorded(
            client, handmade.event("payment_intent.payment_failed", forged), reason="another customer"
        )

        payment.refresh_from_db()
        assert (payment.last_failure_reason, payment.payment_intent_id) == ("", None)
        assert list(victim.appointment.log_entries.values_list("message", flat=True)) == log_before

    def test_a_charge_naming_an_unpaid_payment_of_another_customer_confirms_nothing(self, standin, client):
        victim = Flow(standin, client)
        payment = victim.appointment.payment
        forged = {
            "id": handmade.new_id("ch"),
            "object": "charge",
            "amount": payment.amount,
            "amount_captured": payment.amount,
            "amount_refunded": 1000,
            "captured": True,
            "currency": payment.currency,
            "customer": handmade.someone_elses_customer(standin),
            "metadata": _naming(payment),
            "payment_intent": handmade.new_id("pi"),
            "refunded": False,
            "status": "succeeded",
        }

        acknowledged_and_recorded(client, handmade.event("charge.refunded", forged), reason="another customer")

        appointment = victim.refresh()
        assert (appointment.status, appointment.payment.status) == (A.PENDING_PAYMENT, P.UNPAID)
        assert (appointment.payment.captured_amount, appointment.payment.payment_intent_id) == (0, None)
        assert not Refund.objects.exists()


def _naming(payment) -> dict:
    """Metadata as our Checkout sessions write it, naming this payment and its appointment."""
    return {"hospital_payment_id": str(payment.pk), "hospital_appointment_id": str(payment.appointment_id)}


class TestWhatDjStripeSyncsFirst:
    """dj-stripe re-fetches the event's object and syncs it before our receivers run. The stand-in
    never serves these shapes, so here Stripe's answer to the re-fetch is the event's object."""

    def test_a_prevented_dispute_is_synced_and_ours_is_recorded(self, standin, client, monkeypatch):
        flow = handmade.paid_flow(standin, client)
        opened = flow.standin.control(f"charges/{flow.charge_id}/dispute", reason="fraudulent")
        prevented = {**flow.standin.get(f"disputes/{opened['id']}"), "status": "prevented"}
        monkeypatch.setattr(SyncedDispute, "api_retrieve", lambda self, **kwargs: prevented)

        assert post_event(client, handmade.event("charge.dispute.closed", prevented)).status_code == 200

        assert SyncedDispute.objects.get(id=opened["id"]).status == "prevented"
        assert Dispute.objects.get().status == "prevented"
        assert flow.refresh().payment.status == P.PAID

    def test_a_paid_session_without_an_amount_is_synced_and_recorded_as_unusable(self, standin, client, monkeypatch):
        flow = Flow(standin, client)
        odd = {**flow.standin.get(f"checkout/sessions/{flow.session_id}"), "amount_total": None}
        odd.update(payment_status="paid", status="complete", metadata={"hospital_payment_id": "²"})
        monkeypatch.setattr(SyncedSession, "api_retrieve", lambda self, **kwargs: odd)

        acknowledged_and_recorded(client, handmade.event("checkout.session.completed", odd), reason="²")

        assert SyncedSession.objects.filter(id=flow.session_id).exists()
        assert flow.refresh().payment.status == P.UNPAID

    def test_a_charge_without_an_amount_fails_in_dj_stripe_before_us(self, standin, client, monkeypatch):
        """Stripe's API never gives a charge a null amount; if it did, dj-stripe's own sync would
        fail (its column is NOT NULL) and answer 500 before our receivers run: its trigger row keeps
        the error for staff, and nothing of ours is written."""
        flow = handmade.paid_flow(standin, client)
        odd = {**flow.standin.get(f"charges/{flow.charge_id}"), "amount": None}
        monkeypatch.setattr(SyncedCharge, "api_retrieve", lambda self, **kwargs: odd)

        response = post_event(Client(raise_request_exception=False), handmade.event("charge.refunded", odd))

        assert response.status_code == 500
        assert "amount" in WebhookEventTrigger.objects.order_by("-pk").first().traceback
        assert not UnusableEvent.objects.exists()
        assert flow.refresh().payment.status == P.PAID


@pytest.mark.django_db(transaction=True)
def test_a_unique_key_race_is_retried_not_recorded_as_unusable(standin, webhook_endpoint):
    """Two events about one new refund at once: on PostgreSQL both may insert its row, and the
    loser's unique-key error answers 500, which Stripe's retry fixes. It is no broken rule."""
    refund = handmade.refund(amount=700)
    events = [handmade.event(kind, refund) for kind in ("refund.created", "refund.updated", "refund.updated")]
    calls = iter(events)

    def deliver():
        event = next(calls)
        return event, post_event(Client(raise_request_exception=False), event)

    results = run_concurrently(deliver, threads=len(events))

    assert {response.status_code for _, response in results} <= {200, 500}
    for event, response in results:
        if response.status_code == 500:  # Stripe delivers it again
            assert post_event(Client(), event).status_code == 200
    assert Refund.objects.get().amount == 700
    assert not UnusableEvent.objects.exists()
