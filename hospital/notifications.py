"""E-mails to people, sent at least once through the outbox (see hospital.outbox).

Every e-mail has a plain-text part (`name.txt`) and an HTML alternative (its sibling `name.html`,
which extends `email/base.html`), both rendered when it is queued, and any number of attachments.
An attachment whose bytes a higher app makes (a receipt's PDF, in payments) is recorded by what it
is (`Attachment.rendered(kind, object_id)`); the worker has the renderer that app registered make
it at send time, outside the transaction that decided the e-mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from hospital import outbox
from hospital.models import EmailAttachment, EmailStatus, OutboundEmail

logger = logging.getLogger(__name__)
EMAIL_PENDING = Q(status=EmailStatus.PENDING)
# With exponential backoff capped at an hour, about seven hours of trying before giving up.
EMAIL_MAX_ATTEMPTS = 12


def mail_domain() -> str:
    """The hospital's own domain, from its sender address: Message-IDs and calendar UIDs end in it."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class AttachmentRenderer:
    mimetype: str
    render: Callable[[int], bytes]  # the object's id → the file's bytes


_renderers: dict[str, AttachmentRenderer] = {}


def register_attachment_renderer(*, kind: str, mimetype: str, render: Callable[[int], bytes]) -> None:
    """How the worker makes an attachment of `kind` (e.g. "receipt") from its object's id; an app
    above hospital registers it in its AppConfig.ready."""
    _renderers[kind] = AttachmentRenderer(mimetype=mimetype, render=render)


@dataclass(frozen=True)
class Attachment:
    """A file to attach: its bytes as decided now, or (`rendered`) what to render when sending."""

    filename: str
    mimetype: str
    content: bytes | str = b""
    kind: str = ""
    object_id: int | None = None

    @classmethod
    def rendered(cls, kind: str, object_id: int, *, filename: str) -> Attachment:
        if kind not in _renderers:
            raise LookupError(f"No attachment renderer is registered for {kind!r}.")
        return cls(filename=filename, mimetype=_renderers[kind].mimetype, kind=kind, object_id=object_id)


def html_template_for(template: str) -> str:
    """`app/email/name.txt` → its HTML sibling `app/email/name.html`."""
    if not template.endswith(".txt"):
        raise ValueError(f"An e-mail's template is its plain-text part, a .txt file: {template!r}.")
    return template.removesuffix(".txt") + ".html"


def email_render(*, template: str, subject: str, context: dict) -> tuple[str, str]:
    """The e-mail's plain-text and HTML bodies, with what every e-mail may print."""
    context = {"hospital_name": settings.HOSPITAL_NAME, "site_url": settings.SITE_URL, "subject": subject, **context}
    return render_to_string(template, context), render_to_string(html_template_for(template), context)


def email_queue(
    *, key: str, to: str, subject: str, template: str, context: dict, attachments: Sequence[Attachment] = ()
) -> OutboundEmail:
    """Record an e-mail to send once the caller's transaction commits. Idempotent per `key`."""
    body, html_body = email_render(template=template, subject=subject, context=context)
    # No savepoint of its own: nothing catches a failure here to carry on in the caller's
    # transaction (get_or_create keeps the one it needs for the key's race).
    with transaction.atomic(savepoint=False):
        email, created = OutboundEmail.objects.get_or_create(
            key=key,
            defaults={
                "to": to,
                "subject": subject,
                "body": body,
                "html_body": html_body,
                "message_id": make_msgid(domain=mail_domain()),
            },
        )
        if not created:
            return email
        EmailAttachment.objects.bulk_create(
            EmailAttachment(
                email=email,
                position=position,
                filename=attachment.filename,
                mimetype=attachment.mimetype,
                content=attachment.content.encode() if isinstance(attachment.content, str) else attachment.content,
                rendered_kind=attachment.kind,
                rendered_object_id=attachment.object_id,
            )
            for position, attachment in enumerate(attachments)
        )
        outbox.enqueue(email)
    return email


def _attachment_bytes(attachment: EmailAttachment) -> bytes:
    """A rendered attachment is made once and kept: a retry sends the very same file."""
    if attachment.rendered_kind and not attachment.content:
        attachment.content = _renderers[attachment.rendered_kind].render(attachment.rendered_object_id)
        EmailAttachment.objects.filter(pk=attachment.pk).update(content=attachment.content)
    return bytes(attachment.content)  # PostgreSQL hands back a memoryview


def email_message(email: OutboundEmail) -> EmailMultiAlternatives:
    """The message as it goes out: text and HTML as alternatives, then the attachments."""
    message = EmailMultiAlternatives(
        subject=email.subject, body=email.body, to=[email.to], headers={"Message-ID": email.message_id}
    )
    if email.html_body:
        message.attach_alternative(email.html_body, "text/html")
    for attachment in email.attachments.all():
        message.attach(attachment.filename, _attachment_bytes(attachment), attachment.mimetype)
    return message


def email_deliver(*, email_id: int) -> None:
    email = outbox.claim(OutboundEmail, EMAIL_PENDING, email_id)
    if email is None:
        return
    try:
        email_message(email).send()
    except Exception as exc:  # any SMTP, socket or rendering failure: retried later, up to a limit
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
