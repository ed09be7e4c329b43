"""What staff see of each e-mail before anyone receives it: every template, rendered with demo data.

Each app registers its own templates (in its AppConfig.ready), with a function that builds the
template's context from unsaved objects, so hospital, which sits below them, can list them all.
Rendering runs in a transaction that is always rolled back: a preview writes nothing, whatever a
template or a demo object might try.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from accounts.models import Role, User
from hospital.notifications import email_render


@dataclass(frozen=True)
class EmailPreview:
    template: str  # the plain-text part, e.g. "appointments/email/confirmed.txt"
    title: str  # what the e-mail is, for staff: "Booking confirmed"
    audience: str  # who receives it: "Patient", "Staff", "Billing staff"
    subject: str  # the subject line as the demo data gives it
    context: Callable[[], dict]

    @property
    def slug(self) -> str:
        """'appointments-confirmed': its address in the admin."""
        app, _, name = self.template.removesuffix(".txt").partition("/email/")
        return f"{app}-{name}"


@dataclass(frozen=True)
class RenderedPreview:
    preview: EmailPreview
    text: str
    html: str


_previews: dict[str, EmailPreview] = {}


def register_preview(*, template: str, title: str, audience: str, subject: str, context: Callable[[], dict]) -> None:
    preview = EmailPreview(template=template, title=title, audience=audience, subject=subject, context=context)
    _previews[preview.slug] = preview


def email_previews() -> list[EmailPreview]:
    return sorted(_previews.values(), key=lambda preview: (preview.audience, preview.title))


def email_preview_render(slug: str) -> RenderedPreview:
    """Both parts of one registered e-mail; KeyError for a slug nobody registered."""
    preview = _previews[slug]
    with transaction.atomic():
        try:
            text, html = email_render(template=preview.template, subject=preview.subject, context=preview.context())
        finally:
            transaction.set_rollback(True)
    return RenderedPreview(preview=preview, text=text, html=html)


def register_accounts_previews() -> None:
    """accounts sits below hospital and has no registry of its own: its two e-mails (sent at once
    by Django's mailer, not through the outbox: a password link is worth nothing hours later) are
    listed here."""
    user = User(pk=58, first_name="Kenji", last_name="Mori", email="kenji.mori@hospital.test", role=Role.DOCTOR)
    register_preview(
        template="accounts/email/password_setup.txt",
        title="Account created: choose a password",
        audience="Doctor or staff",
        subject=f"Your {settings.HOSPITAL_NAME} account: choose a password",
        context=lambda: {
            "user": user,
            "site_name": settings.HOSPITAL_NAME,
            "link": f"{settings.SITE_URL}/accounts/reset/Mjk/demo-token/",
        },
    )
    register_preview(
        template="accounts/email/password_reset.txt",
        title="Password reset",
        audience="Anyone with an account",
        subject=f"Reset your {settings.HOSPITAL_NAME} password",
        context=lambda: {
            "user": user,
            "site_name": settings.HOSPITAL_NAME,
            "protocol": "https",
            "domain": "hospital.test",
            "uid": "Mjk",
            "token": "demo-token",
        },
    )
