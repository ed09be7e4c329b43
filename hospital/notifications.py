"""E-mails to people, sent at least once through the outbox (see hospital.outbox)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from hospital import outbox, tasks
from hospital.models import EmailStatus, OutboundEmail

EMAIL_PENDING = Q(status=EmailStatus.PENDING)


def email_queue(*, key: str, to: str, subject: str, template: str, context: dict) -> OutboundEmail:
    """Record an e-mail to send once the caller's transaction commits. Idempotent per `key`."""
    with transaction.atomic():
        email, created = OutboundEmail.objects.get_or_create(
            key=key,
            defaults={
                "to": to,
                "subject": subject,
                "body": render_to_string(template, {"hospital_name": settings.HOSPITAL_NAME, **context}),
                "message_id": make_msgid(domain="hospital.test"),
            },
        )
        if created:
            tasks.email_deliver.enqueue(email.pk)
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
    try:
        message.send()
    except Exception as exc:
        outbox.release_for_retry(email, f"{type(exc).__name__}: {exc}")
        raise
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=EmailStatus.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
    )
