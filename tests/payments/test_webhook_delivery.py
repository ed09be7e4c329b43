import time

import pytest
from django.core import mail
from django.test import Client

from appointments.models import AppointmentLogEntry
from appointments.models import AppointmentStatus as A
from hospital.models import OutboundEmail
from payments.card_failures import DECLINED
from payments.models import CheckoutAttempt, Payment, StripeCustomer
from payments.models import PaymentStatus as P
from tests.concurrency import run_concurrently
from tests.factories import SlotFactory
from tests.payments.flows import Flow, run_tasks
from tests.payments.stripe_events import post_event

CONFIRMED_MESSAGE = "Payment received; your appointment is confirmed."


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("webhook_endpoint")
def test_the_same_event_ten_times_at_once_changes_state_once_and_sends_one_email(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    [completed] = flow.events()

    responses = run_concurrently(lambda: post_event(Client(), completed), threads=10)

    assert [getattr(r, "status_code", r) for r in responses] == [200] * 10
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    assert AppointmentLogEntry.objects.filter(appointment=appointment, message=CONFIRMED_MESSAGE).count() == 1
    run_tasks()
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Appointment confirmed"]
    assert OutboundEmail.objects.get().message_id == mail.outbox[0].extra_headers["Message-ID"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("webhook_endpoint")
def test_the_webhook_and_the_success_page_racing_confirm_once(standin, client, patient):
    flow = Flow(standin, client)
    flow.pay()
    [completed] = flow.events()
    patient_client = Client()
    patient_client.force_login(flow.appointment.patient)
    success_url = f"/appointments/{flow.appointment.pk}/paid/?session_id={flow.session_id}"

    calls = iter([lambda: post_event(Client(), completed), lambda: patient_client.get(success_url)] * 3)
    results = run_concurrently(lambda: next(calls)(), threads=6)

    assert sorted(r.status_code for r in results) == [200, 200, 200, 302, 302, 302]
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    assert AppointmentLogEntry.objects.filter(appointment=appointment, message=CONFIRMED_MESSAGE).count() == 1
    assert OutboundEmail.objects.count() == 1


@pytest.mark.django_db
def test_the_success_page_confirms_even_before_the_webhook(standin, patient_client, patient):
    slot = SlotFactory()
    response = patient_client.post(f"/appointments/book/{slot.pk}/", {"reason": "Check-up"})
    assert response.status_code == 303
    attempt = CheckoutAttempt.objects.get()
    assert response["Location"] == attempt.session_url
    standin.pay(attempt.session_id)

    response = patient_client.get(
        f"/appointments/{attempt.payment.appointment_id}/paid/?session_id={attempt.session_id}"
    )

    assert response.status_code == 302
    page = patient_client.get(response["Location"])
    assert "Payment received" in page.content.decode()
    payment = Payment.objects.get()
    assert (payment.appointment.status, payment.status) == (A.CONFIRMED, P.PAID)


@pytest.mark.django_db
def test_a_session_id_of_someone_else_is_not_trusted(standin, client, patient_client, patient):
    other = Flow(standin, client)
    other.pay()
    slot = SlotFactory()
    patient_client.post(f"/appointments/book/{slot.pk}/", {"reason": ""})
    own = Payment.objects.get(appointment__patient=patient).appointment

    response = patient_client.get(f"/appointments/{own.pk}/paid/?session_id={other.session_id}", follow=True)

    assert "does not belong to this appointment" in response.content.decode()
    own.refresh_from_db()
    assert own.status == A.PENDING_PAYMENT


@pytest.mark.django_db
@pytest.mark.parametrize("failure", ["500", "timeout"])
def test_stripe_unreachable_while_booking_shows_a_clear_message_and_orphans_nothing(
    standin, patient_client, failure, monkeypatch
):
    import stripe

    monkeypatch.setattr(stripe, "default_http_client", stripe.RequestsClient(timeout=0.5))
    # A hung call outlasts the client's retry, which finds it still in flight (409), so the booking
    # POST gives up; with a shorter hang the retry could replay the finished call and succeed.
    standin.control("config", fail_api={"mode": failure, "count": 10, "timeout_seconds": 2})
    slot = SlotFactory()

    response = patient_client.post(f"/appointments/book/{slot.pk}/", {"reason": ""}, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "could not reach our payment provider" in page
    assert "Your slot is still held" in page
    payment = Payment.objects.get()
    assert payment.appointment.status == A.PENDING_PAYMENT
    assert payment.checkout_attempts.get().session_id is None
    standin.control("wait", timeout=5)

    # Stripe is back: "Pay now" creates the one session (the same attempt and key, so no second
    # customer and no second session even if the first call did reach Stripe).
    standin.control("config", fail_api=None)
    if failure == "timeout":
        time.sleep(2)  # the hung call ends at the stand-in (Stripe would answer a retry 409 until then)
    response = patient_client.post(f"/appointments/{payment.appointment_id}/pay/")
    assert response.status_code == 303
    assert len(standin.get("checkout/sessions")["data"]) == 1
    assert len(standin.get("customers")["data"]) == 1
    assert StripeCustomer.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("webhook_endpoint")
def test_a_declined_card_records_the_reason_and_keeps_the_hold(standin, client):
    flow = Flow(standin, client)
    flow.pay(card="4000000000000002")
    events = flow.events()
    assert [e["type"] for e in events] == ["payment_intent.payment_failed"]

    flow.deliver(events)

    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.PENDING_PAYMENT, P.UNPAID)
    assert appointment.payment.last_failure_reason == DECLINED
    assert appointment.log_entries.last().message == f"Payment attempt failed: {DECLINED}"
    assert appointment.payment.last_failure_detail == "card_declined / generic_decline: Your card was declined."


@pytest.mark.django_db
@pytest.mark.usefixtures("webhook_endpoint")
def test_a_failing_handler_answers_500_keeps_the_trigger_for_staff_and_a_redelivery_succeeds(
    standin, client, staff_client, monkeypatch
):
    from djstripe.models import Event, WebhookEventTrigger

    from payments import services

    flow = Flow(standin, client)
    flow.pay()
    [completed] = flow.events()
    record = services.checkout_session_record

    def database_hiccup(**kwargs):
        raise RuntimeError("database hiccup while recording the session")

    monkeypatch.setattr(services, "checkout_session_record", database_hiccup)
    client.raise_request_exception = False
    assert post_event(client, completed).status_code == 500

    appointment = flow.refresh()
    assert appointment.status == A.PENDING_PAYMENT
    assert not Event.objects.filter(id=completed["id"]).exists()  # rolled back, so Stripe's retry is processed
    trigger = WebhookEventTrigger.objects.get()
    assert "database hiccup" in trigger.exception
    assert "RuntimeError" in trigger.traceback
    assert "database hiccup" in staff_client.get("/admin/djstripe/webhookeventtrigger/").content.decode()

    monkeypatch.setattr(services, "checkout_session_record", record)
    assert post_event(client, completed).status_code == 200  # Stripe's retry
    assert flow.refresh().status == A.CONFIRMED


@pytest.mark.django_db
def test_a_customer_that_vanished_at_stripe_is_replaced_once(standin, patient_client, patient):
    StripeCustomer.objects.create(user=patient, livemode=False, stripe_customer_id="cus_gone")
    slot = SlotFactory()

    response = patient_client.post(f"/appointments/book/{slot.pk}/", {"reason": ""})

    assert response.status_code == 303
    customer = StripeCustomer.objects.get(user=patient)
    assert customer.stripe_customer_id != "cus_gone"
    session = standin.get("checkout/sessions")["data"][0]
    assert session["customer"] == customer.stripe_customer_id


@pytest.mark.django_db
@pytest.mark.usefixtures("webhook_endpoint")
def test_canceling_a_hold_that_was_just_paid_keeps_the_appointment(standin, client):
    flow = Flow(standin, client)
    flow.pay()  # the payment's webhook has not arrived yet
    patient_client = Client()
    patient_client.force_login(flow.appointment.patient)

    response = patient_client.post(f"/appointments/{flow.appointment.pk}/cancel-hold/", follow=True)

    assert "there is no hold to cancel" in response.content.decode()
    appointment = flow.refresh()
    assert (appointment.status, appointment.payment.status) == (A.CONFIRMED, P.PAID)
    flow.deliver(flow.events())  # the late webhook changes nothing
    assert AppointmentLogEntry.objects.filter(appointment=appointment, message=CONFIRMED_MESSAGE).count() == 1


@pytest.mark.django_db
def test_canceling_an_open_hold_expires_its_session_at_stripe_and_frees_the_slot(standin, client):
    from hospital.models import Slot

    flow = Flow(standin, client)
    patient_client = Client()
    patient_client.force_login(flow.appointment.patient)

    response = patient_client.post(f"/appointments/{flow.appointment.pk}/cancel-hold/", follow=True)

    assert "You have not been charged" in response.content.decode()
    assert flow.refresh().status == A.CANCELED
    assert standin.get(f"checkout/sessions/{flow.session_id}")["status"] == "expired"
    assert Slot.objects.bookable().filter(pk=flow.slot.pk).exists()
