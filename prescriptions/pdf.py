"""A prescription as a PDF: what the patient downloads and a pharmacy reads.

Rendered from the same `PrescriptionPage` as the web page, so both print one set of values, and
every time on the doctor's clock with the zone named (computed by the selector: Django's `|date`
would print the active zone). hospital.pdf renders it, fetching nothing.
"""

from __future__ import annotations

from hospital.pdf import pdf_from_template
from prescriptions.selectors import PrescriptionPage


def prescription_pdf(shown: PrescriptionPage, *, verify_url: str) -> bytes:
    return pdf_from_template("prescriptions/pdf.html", {"rx": shown, "verify_url": verify_url})
