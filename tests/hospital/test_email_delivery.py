"""E-mails through the outbox against real, misbehaving SMTP servers: a hung server costs one
timeout, and retries keep their backoff however many copies of a task are queued."""

import datetime as dt
import smtplib
import time

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from hospital import outbox, tasks
from hospital.models import EmailStatus, OutboundEmail
from hospital.notifications import email_deliver, email_queue
from tests.factories import PatientFactory
from tests.hospital.smtp import BadSmtpServer, use_smtp_server
from tests.payments.flows import run_tasks

pytestmark = pytest.mark.django_db


def queued_email(key: str = "test-email") -> OutboundEmail:
    return email_queue(
        key=key,
        to="pat@example.com",
        subject="Your account",
        template="accounts/email/password_setup.txt",
        context={"user": PatientFactory(), "site_name": "Northbridge Hospital", "link": "http://testserver/x"},
    )


def test_the_smtp_timeout_is_set_by_default():
    # Django's default is None: a server that accepts and never answers blocks the worker for ever.
    assert 0 < django_settings.EMAIL_TIMEOUT <= 10


def test_an_smtp_server_that_never_answers_costs_one_timeout_and_the_email_waits_for_a_retry(settings):
    email = queued_email()
    with BadSmtpServer(silent=True) as server:
        use_smtp_server(settings, server)
        settings.EMAIL_TIMEOUT = 1  # short for the test; the default is checked above
        started = time.monotonic()
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
            email_deliver(email_id=email.pk)
        took = time.monotonic() - started

    assert server.connections == 1
    assert took < settings.EMAIL_TIMEOUT + 2
    email.refresh_from_db()
    assert (email.status, email.attempts, email.claimed_until) == (EmailStatus.PENDING, 1, None)
    assert "timed out" in email.last_error
    assert email.next_attempt_at > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_many_queued_copies_of_an_emails_task_make_one_attempt_and_the_row_keeps_its_backoff(settings):
    email = queued_email()
    for _ in range(9):  # e.g. left by the sweeper while the worker was down
        tasks.email_deliver.enqueue(email.pk)

    with BadSmtpServer(silent=False) as server:
        use_smtp_server(settings, server)
        run_tasks()
        email.refresh_from_db()
        assert (email.status, email.attempts, server.connections) == (EmailStatus.PENDING, 1, 1)
        assert "421" in email.last_error
        backoff_ends = email.next_attempt_at
        assert backoff_ends > timezone.now()

        # Once the backoff has passed, the sweeper's copy makes the next attempt.
        with time_machine.travel(backoff_ends + dt.timedelta(seconds=1)):
            assert outbox.outbox_sweep() == 1
            run_tasks()
    email.refresh_from_db()
    assert (email.status, email.attempts, server.connections) == (EmailStatus.PENDING, 2, 2)


@pytest.mark.django_db(transaction=True)
def test_an_hour_without_a_worker_does_not_use_up_an_emails_attempts_when_the_worker_returns(settings):
    with BadSmtpServer(silent=False) as server:
        use_smtp_server(settings, server)
        with time_machine.travel(timezone.now()) as clock:
            email = queued_email()  # its task is queued, but no worker runs
            for _ in range(120):  # the sweeper, every 30 seconds for an hour
                clock.shift(dt.timedelta(seconds=30))
                outbox.outbox_sweep()
            run_tasks()  # the worker is back, the mail server still down
            back_at = timezone.now()

    email.refresh_from_db()
    assert (email.status, email.attempts, server.connections) == (EmailStatus.PENDING, 1, 1)
    assert email.next_attempt_at > back_at
