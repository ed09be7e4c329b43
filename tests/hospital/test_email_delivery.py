"""E-mails through the outbox against real, misbehaving SMTP servers: a hung server costs one
timeout, and retries keep their backoff however many copies of a task are queued."""

import smtplib
import time

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from hospital.models import EmailStatus, OutboundEmail
from hospital.notifications import email_deliver, email_queue
from tests.factories import PatientFactory
from tests.hospital.smtp import BadSmtpServer, use_smtp_server

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
