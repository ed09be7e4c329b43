"""Documents as PDF (WeasyPrint): prescriptions, receipts and credit notes.

Each is an HTML template extending `pdf/base.html` (the letterhead, the page and its footer),
rendered with the hospital's name and logo. WeasyPrint may fetch nothing: the logo is inlined as a
data URI, and any other URL is refused, so a document's text can never make the server reach out.
"""

from __future__ import annotations

import base64
import functools

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string


@functools.cache
def _logo_data_uri() -> str:
    with open(finders.find("img/logo.svg"), "rb") as logo:
        return "data:image/svg+xml;base64," + base64.b64encode(logo.read()).decode()


def pdf_from_template(template_name: str, context: dict) -> bytes:
    import weasyprint  # heavy (Pango, fonts): loaded by the first document, not by every process

    html = render_to_string(
        template_name, {"hospital_name": settings.HOSPITAL_NAME, "logo": _logo_data_uri(), **context}
    )
    fetcher = weasyprint.URLFetcher(allowed_protocols=["data"])
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
