"""Refunds and e-mails are durable: recorded with the decision, retried until done, never doubled."""

import datetime as dt
import smtplib

import pytest
import stripe
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from appointments.models import AppointmentStatus as A
from hospital import outbox
from hospital.models import EmailStatus, OutboundEmail
from hospital.notifications import EMAIL_MAX_ATTEMPTS, email_deliver, email_queue
from payments.models import PaymentStatus as P
from payments.models import Refund, RefundFollowUp, RefundStatus
from payments.services import REFUND_PENDING_WORK, refund_issue
from tests.factories import PatientFactory, SlotFactory, StaffFactory, hold_slot
from tests.payments.flows import Flow, run_tasks
from tests.payments.test_final_states import lapse_hold

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def late_payment_refund(standin, client) -> tuple[Flow, Refund]:
    """A payment that arrived after its slot was taken: a full refund is requested."""
    flow = Flow(standin, client)
    flow.pay()
    lapse_hold(flow)
    hold_slot(patient=PatientFactory(), slot=flow.slot)
    flow.deliver(flow.events())
    return flow, Refund.objects.get(payment=flow.appointment.payment)


@pytest.mark.django_db(transaction=True)
def test_a_refund_stripe_refuses_is_marked_failed_and_staff_are_told(standin, client):
    StaffFactory(email="desk@example.com")
    flow, refund = late_payment_refund(standin, client)
    standin.refund(flow.payment_intent_id)  # someone refunded it in the Dashboard meanwhile

    run_tasks()

    refund.refresh_from_db()
    assert (refund.status, refund.follow_up) == (RefundStatus.FAILED, RefundFollowUp.NEEDS_STAFF)
    assert "refunded" in refund.failure_reason
    alert = next(m for m in mail.outbox if m.to == ["desk@example.com"])
    assert alert.subject == f"Refund #{refund.pk} failed and needs attention"
    assert len(standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"]) == 1


@pytest.mark.django_db(transaction=True)
def test_refunds_have_a_queue_and_a_worker_of_their_own_so_e_mails_cannot_hold_them_up(standin, client):
    flow, refund = late_payment_refund(standin, client)
    queued = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    assert list(queued.filter(task_path="payments.tasks.refund_issue").values_list("queue_name", flat=True)) == [
        "refunds"
    ]
    emails = queued.filter(task_path="hospital.tasks.email_deliver")
    assert set(emails.values_list("queue_name", flat=True)) == {"default"}

    # The refunds worker alone, as if the e-mail worker were stuck on a mail server.
    call_command("db_worker", queue_name="refunds", batch=True, startup_delay=False, reload=False, verbosity=0)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert len(standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"]) == 1
    assert emails.exists() and not emails.exclude(status=TaskResultStatus.READY).exists()
    assert mail.outbox == []
    assert OutboundEmail.objects.filter(status=EmailStatus.PENDING).exists()


def test_a_worker_that_died_mid_refund_is_replaced_once_its_claim_lapses(standin, client):
    flow, refund = late_payment_refund(standin, client)
    now = timezone.now()
    assert outbox.claim(Refund, REFUND_PENDING_WORK, refund.pk, now=now) is not None  # ... and the worker dies
    refund_issue(refund_id=refund.pk, now=now + dt.timedelta(minutes=2))  # another worker: the claim stands
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REQUESTED

    later = now + outbox.claim_duration() + dt.timedelta(minutes=1)
    assert outbox.outbox_sweep(now=later) >= 1  # the sweeper queues it again
    refund_issue(refund_id=refund.pk, now=later)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.attempts == 2
    assert flow.refresh().payment.status == P.REFUNDED


def test_after_24_hours_a_retry_finds_the_refund_an_unheard_call_made_instead_of_refunding_twice(standin, client):
    flow, refund = late_payment_refund(standin, client)
    # The first call reached Stripe, but its answer was lost.
    made = stripe.Refund.create(
        payment_intent=flow.payment_intent_id,
        metadata={"hospital_refund_id": str(refund.pk)},
        api_key=standin.process.api_key,
    )
    Refund.objects.filter(pk=refund.pk).update(attempts=1)

    refund_issue(refund_id=refund.pk, now=refund.created_at + dt.timedelta(hours=25))

    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == (RefundStatus.SUCCEEDED, made.id)
    assert len(standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"]) == 1
    assert (flow.refresh().status, flow.appointment.payment.status) == (A.EXPIRED, P.REFUNDED)


def test_a_refund_older_than_a_day_with_nothing_at_stripe_gets_a_new_key(standin, client):
    _, refund = late_payment_refund(standin, client)
    old_key = refund.idempotency_key

    refund_issue(refund_id=refund.pk, now=refund.created_at + dt.timedelta(hours=25))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.idempotency_key != old_key


class RefusingMailServer:
    """An e-mail backend whose server is down."""

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_an_email_is_retried_with_backoff_then_given_up_and_its_message_id_never_changes(settings):
    email = email_queue(
        key="test-email",
        to="pat@example.com",
        subject="Hello",
        template="payments/email/late_payment_refund.txt",
        context={"appointment": hold_slot(patient=PatientFactory(), slot=SlotFactory()), "amount": "$50.00"},
    )
    message_id = email.message_id
    settings.EMAIL_BACKEND = "tests.payments.test_side_effects.RefusingMailServer"

    with pytest.raises(smtplib.SMTPServerDisconnected):
        email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.PENDING, 1)
    assert "Connection unexpectedly closed" in email.last_error
    assert email.next_attempt_at > timezone.now()

    # The last attempt, once its backoff has passed.
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=EMAIL_MAX_ATTEMPTS - 1, next_attempt_at=timezone.now())
    with pytest.raises(smtplib.SMTPServerDisconnected):
        email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboundEmail.objects.filter(pk=email.pk).update(status=EmailStatus.PENDING)
    email_deliver(email_id=email.pk)
    assert mail.outbox[-1].extra_headers["Message-ID"] == message_id
    email_deliver(email_id=email.pk)  # a duplicate task: nothing more is sent
    assert len(mail.outbox) == 1
