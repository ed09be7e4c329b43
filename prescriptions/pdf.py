"""A prescription as a PDF (WeasyPrint): what the patient downloads and a pharmacy reads.

Rendered from the same `PrescriptionPage` as the web page, so both print one set of values, and
every time on the doctor's clock with the zone named (computed by the selector: Django's `|date`
would print the active zone). WeasyPrint may fetch nothing: the logo is inlined as a data URI, and
any other URL is refused, so a prescription's text can never make the server reach out.
"""

from __future__ import annotations

import base64
import functools

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from prescriptions.selectors import PrescriptionPage


@functools.cache
def _logo_data_uri() -> str:
    with open(finders.find("img/logo.svg"), "rb") as logo:
        return "data:image/svg+xml;base64," + base64.b64encode(logo.read()).decode()


def prescription_pdf(shown: PrescriptionPage, *, verify_url: str) -> bytes:
    import weasyprint  # heavy (Pango, fonts): loaded by the first download, not by every process

    html = render_to_string(
        "prescriptions/pdf.html",
        {"rx": shown, "hospital_name": settings.HOSPITAL_NAME, "logo": _logo_data_uri(), "verify_url": verify_url},
    )
    fetcher = weasyprint.URLFetcher(allowed_protocols=["data"])
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
