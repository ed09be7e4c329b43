"""Every e-mail has a plain-text part and an HTML part, and any number of attachments: what the
outbox stores is what goes out, multipart/alternative inside multipart/mixed, and an attachment
another app renders at send time is rendered once, so a retry sends the very same file."""

import re
import smtplib
from email import message_from_bytes
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.template.loader import get_template

from hospital import notifications
from hospital.email_previews import email_preview_render, email_previews
from hospital.models import EmailStatus, OutboundEmail
from hospital.notifications import Attachment, email_deliver, email_queue, html_template_for

pytestmark = pytest.mark.django_db

APPS = ("accounts", "hospital", "appointments", "payments", "prescriptions")
PDF = b"%PDF-1.7\n\x00\xff\xfe binary, not text\n%%EOF\n"


def templates_sent() -> set[str]:
    """Every e-mail template the code names: each `template="…/email/….txt"` of email_queue and
    tell_staff, and the ones Django's mailer is handed."""
    root = Path(django_settings.BASE_DIR)
    named = set()
    for app in APPS:
        for source in (root / app).rglob("*.py"):
            if "email_previews" in source.name:
                continue  # the previews name templates because the code does: not evidence of use
            named |= set(re.findall(r"[\"']([a-z_]+/email/[a-z_]+\.txt)[\"']", source.read_text()))
    return named - {"accounts/email/password_reset_subject.txt"}  # a subject line, not a body


def test_the_walk_finds_the_emails_we_know():
    assert {
        "appointments/email/confirmed.txt",
        "appointments/email/reminder.txt",
        "appointments/email/hold_expired.txt",
        "payments/email/payment_failed.txt",
        "payments/email/refund_completed.txt",
        "payments/email/refund_failed.txt",
        "accounts/email/password_setup.txt",
    } <= templates_sent()


@pytest.mark.parametrize("template", sorted(templates_sent()))
def test_every_email_has_an_html_sibling_on_the_common_frame_and_a_preview(template):
    html = get_template(html_template_for(template)).template.source
    assert html.startswith('{% extends "email/base.html" %}')
    assert template in {preview.template for preview in email_previews()}, "register a preview with demo data"


@pytest.mark.parametrize("preview", email_previews(), ids=lambda preview: preview.slug)
def test_every_email_renders_both_parts_readable_in_a_mail_client(preview):
    rendered = email_preview_render(preview.slug)

    assert rendered.text.strip() and "{{" not in rendered.text and "{%" not in rendered.text
    html = rendered.html
    assert '<html lang="en">' in html
    assert f"<title>{preview.subject}</title>" in html.replace("&#x27;", "'")
    assert "<img" not in html and "<link" not in html and "<script" not in html  # nothing fetched
    assert "<style" not in html  # many clients drop it: styles are inline
    assert django_settings.HOSPITAL_NAME in html and django_settings.HOSPITAL_NAME in rendered.text


def queue(key="parts", attachments=()) -> OutboundEmail:
    return email_queue(
        key=key,
        to="pat@example.com",
        subject="Your account",
        template="accounts/email/password_setup.txt",
        context={"user": {"first_name": "Pat", "email": "pat@example.com"}, "site_name": "N", "link": "http://x/y"},
        attachments=attachments,
    )


def test_the_message_is_text_and_html_as_alternatives_then_each_attachment():
    email = queue(
        attachments=[
            Attachment(filename="visit.ics", content="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", mimetype="text/calendar"),
            Attachment(filename="letter.pdf", content=PDF, mimetype="application/pdf"),
        ]
    )

    email_deliver(email_id=email.pk)

    [sent] = mail.outbox
    parsed = message_from_bytes(sent.message().as_bytes())
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, calendar, pdf = parsed.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, html = alternative.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert "http://x/y" in text.get_payload(decode=True).decode()
    assert 'href="http://x/y"' in html.get_payload(decode=True).decode()
    assert (calendar.get_content_type(), calendar.get_filename()) == ("text/calendar", "visit.ics")
    assert (pdf.get_content_type(), pdf.get_filename()) == ("application/pdf", "letter.pdf")
    assert pdf.get_payload(decode=True) == PDF
    assert parsed["Message-ID"] == email.message_id


def test_queuing_the_same_fact_again_keeps_the_first_email_and_its_attachments():
    first = queue(attachments=[Attachment(filename="a.pdf", content=PDF, mimetype="application/pdf")])
    again = queue(attachments=[Attachment(filename="b.pdf", content=b"other", mimetype="application/pdf")])

    assert again.pk == first.pk
    assert list(first.attachments.values_list("filename", flat=True)) == ["a.pdf"]


class Letters:
    """A renderer as a higher app registers one: makes a document from its object's id."""

    def __init__(self):
        self.calls = []
        self.fail = False

    def __call__(self, object_id: int) -> bytes:
        self.calls.append(object_id)
        if self.fail:
            raise OSError("the PDF engine ran out of memory")
        return PDF + str(len(self.calls)).encode()  # a second rendering would differ


@pytest.fixture
def letters(monkeypatch):
    letters = Letters()
    renderer = notifications.AttachmentRenderer(mimetype="application/pdf", render=letters)
    monkeypatch.setitem(notifications._renderers, "letter", renderer)
    return letters


class RefusingMailServer:
    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_a_rendered_attachment_is_made_by_the_worker_once_and_a_retry_sends_the_same_file(letters, settings):
    email = queue(attachments=[Attachment.rendered("letter", 77, filename="letter-77.pdf")])
    assert letters.calls == []  # nothing rendered in the transaction that decided the e-mail
    [row] = email.attachments.all()
    assert (row.rendered_kind, row.rendered_object_id, row.mimetype) == ("letter", 77, "application/pdf")

    settings.EMAIL_BACKEND = "tests.hospital.test_email_parts.RefusingMailServer"
    with pytest.raises(smtplib.SMTPServerDisconnected):
        email_deliver(email_id=email.pk)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=email.created_at)  # its backoff is over
    email_deliver(email_id=email.pk)

    assert letters.calls == [77]
    [sent] = mail.outbox
    assert sent.extra_headers["Message-ID"] == email.message_id
    [(filename, content, mimetype)] = sent.attachments
    assert (filename, content, mimetype) == ("letter-77.pdf", PDF + b"1", "application/pdf")


def test_a_renderer_that_fails_leaves_the_email_to_be_retried(letters):
    letters.fail = True
    email = queue(attachments=[Attachment.rendered("letter", 5, filename="letter-5.pdf")])

    with pytest.raises(OSError, match="out of memory"):
        email_deliver(email_id=email.pk)

    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.PENDING, 1)
    assert "out of memory" in email.last_error
    assert mail.outbox == []


def test_an_attachment_nobody_can_render_is_refused_when_it_is_queued():
    with pytest.raises(LookupError, match="lab-report"):
        Attachment.rendered("lab-report", 1, filename="lab-report.pdf")
