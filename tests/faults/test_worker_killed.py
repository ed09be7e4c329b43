"""A worker killed with SIGKILL while an e-mail is in flight (the mail server has it, its 250 never
reaches the worker): the row stays claimed and django-tasks-db's task stays RUNNING. Once the
claim lapses, `sweep_outbox` marks that task failed and queues the row again; the next worker sends
every e-mail, none lost, the one in flight twice under the same Message-ID.

Real processes (`manage.py db_worker`, `manage.py sweep_outbox`), a real SMTP server (the sink)
and the test database on SQLite or PostgreSQL; OUTBOX_CLAIM_SECONDS is short so the claim lapses
in seconds."""

import datetime as dt
import time
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from hospital.models import EmailStatus, OutboundEmail
from tests.appointments.test_reminders import visit_starting
from tests.faults.manage_py import ManagePy
from tests.hospital.smtp import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)

CLAIM_SECONDS = 2.0
WAIT = 30  # seconds any one step may take before the test fails instead of hanging


@pytest.fixture
def manage_py(tmp_path):
    commands = ManagePy(tmp_path, OUTBOX_CLAIM_SECONDS=str(CLAIM_SECONDS), EMAIL_TIMEOUT="5")
    yield commands
    commands.close()


def worker(*, batch: bool) -> list[str]:
    return ["db_worker", "--queue-name", "default", "--interval", "0.1", "--no-startup-delay", "--no-reload"] + (
        ["--batch"] if batch else []
    )


def wait_until(moment: dt.datetime) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 0.2)


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

        swept = manage_py.run("sweep", "sweep_outbox")
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
