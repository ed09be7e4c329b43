"""Staff pages of the admin that are not a model's: the e-mail previews (hospital.email_previews)."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse

from hospital.email_previews import email_preview_render, email_previews


def _rendered_or_404(slug: str):
    try:
        return email_preview_render(slug)
    except KeyError:
        raise Http404("No such e-mail template.") from None


def email_preview_list(request):
    context = {
        **admin.site.each_context(request),
        "title": "E-mail previews",
        "previews": email_previews(),
    }
    return TemplateResponse(request, "admin/email_previews.html", context)


def email_preview_detail(request, slug: str):
    rendered = _rendered_or_404(slug)
    context = {
        **admin.site.each_context(request),
        "title": rendered.preview.title,
        "subtitle": rendered.preview.template,
        "rendered": rendered,
    }
    return TemplateResponse(request, "admin/email_preview.html", context)


def email_preview_html(request, slug: str):
    """The HTML part alone, as a mail client shows it."""
    return HttpResponse(_rendered_or_404(slug).html)
