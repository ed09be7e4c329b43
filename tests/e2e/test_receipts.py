"""A patient opens the receipt and a credit note of a paid visit from its appointment page in a real
browser, downloads the PDF, and each page passes axe. Screenshots at 1280 and 390 px wide (and the
PDF's first page as a picture where pdftoppm is installed)."""

import datetime as dt
import io
import shutil
import subprocess

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import AxeAudit, log_in
from tests.payments.test_receipt_pages import paid_visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_a_patient_opens_and_downloads_the_receipt_and_credit_note(live_server, page, screenshot):
    base = live_server.url
    audit = AxeAudit(page)
    in_two_days = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    payment = paid_visit(zone="Asia/Tokyo", starts_at=in_two_days, refunded=1500)
    receipt, note = payment.receipt, payment.credit_notes.get()
    page.set_viewport_size(DESKTOP)
    log_in(page, base, payment.appointment.patient.email)

    page.goto(f"{base}/appointments/{payment.appointment_id}/")
    expect(page.get_by_role("heading", name="Receipts")).to_be_visible()
    page.get_by_role("link", name=f"Receipt {receipt.display_number}", exact=True).click()
    expect(page.get_by_role("heading", name=receipt.display_number)).to_be_visible()
    expect(page.get_by_text("Paid by card")).to_be_visible()
    expect(page.get_by_text("JST (Asia/Tokyo)")).to_be_visible()
    audit.check("receipt")
    screenshot("receipt-01-page-1280")
    page.set_viewport_size(PHONE)
    screenshot("receipt-01-page-390")
    page.set_viewport_size(DESKTOP)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf_path = ARTIFACTS / "receipt-02.pdf"
    download.value.save_as(pdf_path)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
    assert receipt.display_number in text and "Paid by card" in text
    if shutil.which("pdftoppm"):  # poppler-utils: a picture of the PDF to look at
        subprocess.run(  # noqa: S603
            ["pdftoppm", "-png", "-r", "110", "-singlefile", str(pdf_path), str(ARTIFACTS / "receipt-02-pdf")],  # noqa: S607
            check=True,
        )

    page.goto(f"{base}/appointments/{payment.appointment_id}/")
    page.get_by_role("link", name=f"Credit note {note.display_number}", exact=True).click()
    expect(page.get_by_role("heading", name=note.display_number)).to_be_visible()
    page.get_by_role("link", name=receipt.display_number).click()
    expect(page.get_by_role("heading", name=receipt.display_number)).to_be_visible()
    page.go_back()
    audit.check("credit note")
    screenshot("receipt-03-credit-note-1280")

    page.goto(f"{base}/appointments/{payment.appointment_id}/")
    audit.check("appointment with receipts")
    screenshot("receipt-04-appointment-1280")
    audit.assert_clean()
