"""E-mails to people, sent at least once through the outbox (see hospital.outbox)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from hospital import outbox
from hospital.models import EmailStatus, OutboundEmail

logger = logging.getLogger(__name__)
EMAIL_PENDING = Q(status=EmailStatus.PENDING)
# With exponential backoff capped at an hour, about seven hours of trying before giving up.
EMAIL_MAX_ATTEMPTS = 12


def mail_domain() -> str:
    """The hospital's own domain, from its sender address: Message-IDs and calendar UIDs end in it."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: str
    mimetype: str


def email_queue(
    *, key: str, to: str, subject: str, template: str, context: dict, attachment: Attachment | None = None
) -> OutboundEmail:
    """Record an e-mail to send once the caller's transaction commits. Idempotent per `key`."""
    with transaction.atomic():
        email, created = OutboundEmail.objects.get_or_create(
            key=key,
            defaults={
                "to": to,
                "subject": subject,
                "body": render_to_string(template, {"hospital_name": settings.HOSPITAL_NAME, **context}),
                "message_id": make_msgid(domain=mail_domain()),
                **(
                    {
                        "attachment_filename": attachment.filename,
                        "attachment_mimetype": attachment.mimetype,
                        "attachment_content": attachment.content,
                    }
                    if attachment
                    else {}
                ),
            },
        )
        if created:
            outbox.enqueue(email)
    return email


def email_deliver(*, email_id: int) -> None:
    email = outbox.claim(OutboundEmail, EMAIL_PENDING, email_id)
    if email is None:
        return
    message = EmailMessage(
        subject=email.subject,
        body=email.body,
        to=[email.to],
        headers={"Message-ID": email.message_id},
    )
    if email.attachment_filename:
        message.attach(email.attachment_filename, email.attachment_content, email.attachment_mimetype)
    try:
        message.send()
    except Exception as exc:  # any SMTP or socket failure: retried later, up to a limit
        error = f"{type(exc).__name__}: {exc}"
        if email.attempts >= EMAIL_MAX_ATTEMPTS:
            OutboundEmail.objects.filter(pk=email.pk).update(
                status=EmailStatus.FAILED, last_error=error[:2000], claimed_until=None
            )
            logger.error("Gave up on e-mail %s to %s after %s attempts: %s", email.pk, email.to, email.attempts, error)
        else:
            outbox.release_for_retry(email, error)
        raise
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=EmailStatus.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
    )
