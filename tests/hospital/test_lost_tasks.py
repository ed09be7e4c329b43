"""A task left RUNNING by a worker that died: `sweep_outbox` marks it failed, says so, and queues
the work again as a new task, once the task has run longer than an attempt may take."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from hospital import outbox
from hospital.models import EmailStatus, OutboundEmail
from hospital.notifications import EMAIL_PENDING
from tests.factories import StaffFactory
from tests.hospital.test_email_delivery import queued_email
from tests.payments.flows import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def worker_dies_while_sending(email: OutboundEmail, *, now: dt.datetime) -> DBTaskResult:
    """What a worker killed mid-send leaves: its task RUNNING under its id, the row claimed."""
    task = DBTaskResult.objects.get(status=TaskResultStatus.READY, args_kwargs__args=[email.pk])
    with time_machine.travel(now, tick=False):
        task.claim("worker-that-died")
        assert outbox.claim(OutboundEmail, EMAIL_PENDING, email.pk, now=now) is not None
    return task


def sweep() -> str:
    out = StringIO()
    call_command("sweep_outbox", stdout=out)
    return out.getvalue()


def test_a_dead_workers_task_is_marked_failed_and_its_email_is_sent_by_a_new_task(settings, client):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    started = timezone.now()
    email = queued_email()
    dead = worker_dies_while_sending(email, now=started)

    with time_machine.travel(started + outbox.claim_duration() - dt.timedelta(seconds=1), tick=False):
        assert sweep() == ""  # it may still be running: nothing done
        run_tasks()
    assert DBTaskResult.objects.get(pk=dead.pk).status == TaskResultStatus.RUNNING
    assert mail.outbox == []

    with time_machine.travel(started + outbox.claim_duration() + dt.timedelta(seconds=1), tick=False):
        assert sweep() == (
            "Re-queued 1 side effect(s); 1 task(s) of a worker that died marked failed; 0 lapsed hold(s) expired.\n"
        )
        dead.refresh_from_db()
        assert (dead.status, dead.exception_class_path) == (TaskResultStatus.FAILED, "hospital.outbox.WorkerLost")
        assert f"Worker: worker-that-died\nStarted: {started.isoformat()}\n" in dead.traceback
        assert dead.finished_at == timezone.now()
        again = DBTaskResult.objects.get(status=TaskResultStatus.READY)
        assert (again.task_path, again.args_kwargs, again.queue_name) == (dead.task_path, dead.args_kwargs, "default")
        run_tasks()
        assert sweep() == ""  # the copy is done: nothing lost any more

    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    assert [message.extra_headers["Message-ID"] for message in mail.outbox] == [email.message_id]
    assert DBTaskResult.objects.get(pk=again.pk).status == TaskResultStatus.SUCCESSFUL

    # What an administrator sees of the dead task: failed, and why.
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get(reverse("admin:django_tasks_database_dbtaskresult_change", args=[dead.pk])).content.decode()
    assert "Failed" in page
    assert "hospital.outbox.WorkerLost" in page
    assert "WorkerLost: its worker stopped before finishing it (killed, or its machine lost)." in page
    assert "Worker: worker-that-died" in page


def test_a_task_that_finished_or_never_started_is_left_alone():
    email = queued_email()
    finished = DBTaskResult.objects.get()
    finished.claim("worker-that-finished")
    finished.set_successful(None)
    queued_email(key="another-email")  # READY, never started

    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        assert outbox.lost_tasks_requeue() == (0, 0)
    assert sorted(DBTaskResult.objects.values_list("status", flat=True)) == [
        TaskResultStatus.READY,
        TaskResultStatus.SUCCESSFUL,
    ]
    assert OutboundEmail.objects.get(pk=email.pk).status == EmailStatus.PENDING


def test_a_lost_task_whose_row_another_worker_holds_waits_and_a_done_row_is_not_queued_again(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    started = timezone.now()
    email = queued_email()
    dead = worker_dies_while_sending(email, now=started)
    # Later the sweeper's own copy (past the row's backoff) reaches a live worker, which claims it.
    later = started + outbox.claim_duration() + dt.timedelta(seconds=30)
    OutboundEmail.objects.filter(pk=email.pk).update(claimed_until=later + outbox.claim_duration())

    with time_machine.travel(later, tick=False):
        assert outbox.lost_tasks_requeue() == (0, 0)  # that worker may be sending it right now
    assert DBTaskResult.objects.get(pk=dead.pk).status == TaskResultStatus.RUNNING

    OutboundEmail.objects.filter(pk=email.pk).update(status=EmailStatus.SENT, claimed_until=None)  # it did
    with time_machine.travel(later + dt.timedelta(seconds=30), tick=False):
        assert outbox.lost_tasks_requeue() == (1, 0)
    assert DBTaskResult.objects.get(pk=dead.pk).status == TaskResultStatus.FAILED
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()
