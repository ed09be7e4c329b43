"""A worker killed with SIGKILL while an e-mail or a refund is in flight: the row stays claimed
and django-tasks-db's task stays RUNNING. Once the claim lapses, `sweep_outbox` marks that task
failed and queues the row again, and the next worker finishes the work: every e-mail sent, the
one in flight (the mail server had it, its 250 never reached the worker) twice under the same
Message-ID; the refund whose Stripe call was under way made once (the next attempt finds the
refund the unheard call made, by our id in its metadata, instead of refunding again).

Real worker processes (`manage.py db_worker`), the real sweeper command, a real SMTP server (the sink),
the Stripe stand-in and the test database on SQLite or PostgreSQL; OUTBOX_CLAIM_SECONDS is short
so the claim lapses in seconds."""

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from hospital.models import EmailStatus, OutboundEmail
from payments.models import PaymentStatus, RefundStatus
from tests.appointments.test_reminders import visit_starting
from tests.faults.manage_py import ManagePy
from tests.hospital.smtp import SmtpSink
from tests.payments.test_side_effects import late_payment_refund

pytestmark = pytest.mark.django_db(transaction=True)

CLAIM_SECONDS = 4.0  # long enough to see the claim held after the kill on a busy machine
WAIT = 30  # seconds any one step may take before the test fails instead of hanging


@pytest.fixture
def manage_py(tmp_path, settings):
    settings.OUTBOX_CLAIM_SECONDS = CLAIM_SECONDS  # for the sweeper, run in this process
    commands = ManagePy(tmp_path, OUTBOX_CLAIM_SECONDS=str(CLAIM_SECONDS), EMAIL_TIMEOUT="5")
    yield commands
    commands.close()


def sweep() -> str:
    out = StringIO()
    call_command("sweep_outbox", stdout=out)
    return out.getvalue()


def worker(*, queue: str = "default", batch: bool) -> list[str]:
    # --skip-checks: the system checks cost seconds per process and are the suite's business.
    options = ["--interval", "0.1", "--no-startup-delay", "--no-reload", "--skip-checks"]
    return ["db_worker", "--queue-name", queue, *options] + (["--batch"] if batch else [])


def wait_until(moment: dt.datetime) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 0.2)


def wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT} s for {what}"
        time.sleep(0.05)


def test_emails_in_flight_when_their_worker_is_killed_are_all_sent_at_most_twice_with_one_message_id(manage_py):
    now = timezone.now()
    for hours in (10, 11, 12, 13):
        visit_starting(now + dt.timedelta(hours=hours))
    out = StringIO()
    call_command("send_reminders", stdout=out)  # the real service queues the e-mails
    assert out.getvalue().endswith("4 reminder(s) queued.\n")

    with SmtpSink(slow_message=2, slow_seconds=WAIT) as sink:
        manage_py.environment["EMAIL_URL"] = f"smtp://127.0.0.1:{sink.port}"
        first = manage_py.start("worker-1", *worker(batch=False))
        assert sink.slow_message_received.wait(timeout=WAIT), manage_py.log("worker-1")
        first.kill()  # SIGKILL: no handler, no clean-up, as when a machine is lost
        first.wait(timeout=WAIT)

        # What the dead worker leaves: the first e-mail sent, the second claimed and its task RUNNING.
        sent_once, in_flight = (OutboundEmail.objects.get(message_id=m.message_id) for m in sink.received)
        assert sent_once.status == EmailStatus.SENT
        assert (in_flight.status, in_flight.attempts) == (EmailStatus.PENDING, 1)
        assert in_flight.claimed_until > timezone.now()
        dead_task = DBTaskResult.objects.get(args_kwargs__args=[in_flight.pk])
        assert dead_task.status == TaskResultStatus.RUNNING
        untouched = OutboundEmail.objects.exclude(pk__in=[sent_once.pk, in_flight.pk])
        assert set(untouched.values_list("status", "attempts")) == {(EmailStatus.PENDING, 0)}

        # It stays that way: django-tasks-db never looks at a RUNNING task again.
        wait_until(in_flight.claimed_until)
        dead_task.refresh_from_db()
        assert dead_task.status == TaskResultStatus.RUNNING

        swept = sweep()
        assert "Re-queued 1 side effect(s); 1 task(s) of a worker that died marked failed" in swept
        manage_py.run("worker-2", *worker(batch=True))

        received = list(sink.received)

    emails = list(OutboundEmail.objects.order_by("pk"))
    assert {email.status for email in emails} == {EmailStatus.SENT}
    times_received = Counter(message.message_id for message in received)
    assert times_received == {email.message_id: 2 if email.pk == in_flight.pk else 1 for email in emails}
    by_message_id = {email.message_id: email for email in emails}
    assert all(
        (message.to, message.subject)
        == (by_message_id[message.message_id].to, by_message_id[message.message_id].subject)
        for message in received
    )
    dead_task.refresh_from_db()
    assert (dead_task.status, dead_task.exception_class_path) == (TaskResultStatus.FAILED, "hospital.outbox.WorkerLost")
    others = DBTaskResult.objects.exclude(pk=dead_task.pk)
    assert set(others.values_list("status", flat=True)) == {TaskResultStatus.SUCCESSFUL}
    assert others.count() == len(emails)  # one per e-mail, and the one queued again for the lost attempt


@pytest.mark.usefixtures("webhook_endpoint")
def test_a_refund_in_flight_when_its_worker_is_killed_is_made_once(manage_py, standin, client):
    flow, refund = late_payment_refund(standin, client)
    # Stripe gets the refund call but answers only after 4 s; the worker is killed before that.
    standin.control(
        "config", fail_api={"mode": "timeout", "method": "POST", "path_prefix": "/v1/refunds", "timeout_seconds": 4}
    )
    manage_py.environment["STRIPE_API_BASE"] = standin.url
    refunds_at_stripe = f"refunds?payment_intent={flow.payment_intent_id}"

    first = manage_py.start("refund-worker-1", *worker(queue="refunds", batch=False))
    wait_for(lambda: "POST /v1/refunds" in standin.api_calls(), "the worker's refund call")
    first.kill()
    first.wait(timeout=WAIT)

    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == (RefundStatus.REQUESTED, 1)
    assert refund.claimed_until > timezone.now()
    dead_task = DBTaskResult.objects.get(task_path="payments.tasks.refund_issue", args_kwargs__args=[refund.pk])
    assert dead_task.status == TaskResultStatus.RUNNING
    # The call goes through at Stripe all the same; nobody hears its answer.
    wait_for(lambda: standin.get(refunds_at_stripe)["data"], "the refund at Stripe")
    wait_until(refund.claimed_until)

    swept = sweep()
    assert "Re-queued 1 side effect(s); 1 task(s) of a worker that died marked failed" in swept
    manage_py.run("refund-worker-2", *worker(queue="refunds", batch=True))

    refund.refresh_from_db()
    made = standin.get(refunds_at_stripe)["data"]
    assert len(made) == 1
    assert standin.api_calls().count("POST /v1/refunds") == 1
    assert (refund.status, refund.stripe_refund_id, refund.attempts) == (RefundStatus.SUCCEEDED, made[0]["id"], 2)
    assert flow.refresh().payment.status == PaymentStatus.REFUNDED
    dead_task.refresh_from_db()
    assert (dead_task.status, dead_task.exception_class_path) == (TaskResultStatus.FAILED, "hospital.outbox.WorkerLost")
