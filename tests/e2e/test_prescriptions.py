"""A doctor writes a prescription in a real browser (no script needed: "Add another item" is a
submit button), corrects it; the patient reads both and downloads the PDF; a pharmacy checks them
on the public verification page. Screenshots of each page at 1280 and 390 px wide."""

import io
import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from prescriptions.models import Prescription
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import log_in
from tests.factories import DoctorFactory, PatientFactory, SpecialtyFactory, UserFactory, visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def shoot(page, screenshot):
    """A screenshot at 1280 px and one at 390 px of the page as it is."""

    def take(name: str) -> None:
        screenshot(f"{name}-1280")
        page.set_viewport_size(PHONE)
        screenshot(f"{name}-390")
        page.set_viewport_size(DESKTOP)

    return take


def fill_row(page, number: int, **fields) -> None:
    row = page.get_by_role("group", name=f"Medicine {number}")
    for label, value in fields.items():
        field = row.get_by_label(label.replace("_", " ").capitalize(), exact=False)
        if label == "route":
            field.select_option(label=value)
        else:
            field.fill(value)


def test_a_doctor_writes_and_corrects_a_prescription_and_the_patient_downloads_it(live_server, page, shoot):
    base = live_server.url
    doctor = DoctorFactory(
        user=UserFactory(first_name="Amara", last_name="Okafor", role="doctor", email="okafor@example.com"),
        specialty=SpecialtyFactory(name="Cardiology"),
        timezone="Asia/Tokyo",
    )
    patient = PatientFactory(first_name="Nia", last_name="Patel", email="nia@example.com")
    appointment = visit(status="completed", doctor=doctor, patient=patient, reason="Cough for two weeks")

    log_in(page, base, doctor.user.email)
    page.goto(f"{base}/prescriptions/visit/{appointment.pk}/write/")
    expect(page.get_by_role("heading", name="Write a prescription")).to_be_visible()
    expect(page.get_by_role("group", name=re.compile(r"^Medicine \d$"))).to_have_count(3)
    shoot("rx-01-write")

    fill_row(page, 1, medicine="Amoxicillin", strength="500 mg", dose="1 capsule", how_often="3 times a day")
    page.get_by_role("button", name="Add another item").click()
    expect(page.get_by_role("group", name=re.compile(r"^Medicine \d$"))).to_have_count(4)
    expect(page.get_by_role("group", name="Medicine 1").get_by_label("Medicine")).to_have_value("Amoxicillin")
    expect(page.get_by_role("alert")).to_have_count(0)
    shoot("rx-02-another-row")

    page.get_by_role("button", name="Issue prescription").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the highlighted fields")
    shoot("rx-03-errors")
    assert Prescription.objects.count() == 0

    fill_row(page, 1, for_how_long="7 days", quantity="21", instructions="after food")
    fill_row(
        page, 2, medicine="Salbutamol inhaler", strength="100 micrograms", dose="2 puffs", route="Inhaled",
        how_often="when needed", for_how_long="1 month", quantity="1",
    )  # fmt: skip
    page.get_by_label("General advice").fill("Rest, drink plenty of fluids, and come back if the fever returns.")
    page.get_by_role("button", name="Issue prescription").click()
    first = Prescription.objects.get()
    expect(page.get_by_role("heading", name=first.number)).to_be_visible()
    expect(page.locator(".message-success")).to_contain_text(f"Prescription {first.number} issued")
    shoot("rx-04-issued")

    page.get_by_role("link", name="Write a correction").click()
    expect(page.get_by_role("heading", name=f"Correct prescription {first.number}")).to_be_visible()
    shoot("rx-05-correct")
    fill_row(page, 1, quantity="15", for_how_long="5 days")
    page.get_by_role("button", name="Issue the correction").click()
    correction = Prescription.objects.exclude(pk=first.pk).get()
    expect(page.get_by_role("heading", name=correction.number)).to_be_visible()
    shoot("rx-06-correction")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Prescriptions").click()
    expect(page.get_by_role("heading", name="Prescriptions you wrote")).to_be_visible()
    shoot("rx-07-doctor-list")

    page.context.clear_cookies()
    log_in(page, base, patient.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Prescriptions").click()
    expect(page.get_by_role("heading", name="My prescriptions")).to_be_visible()
    shoot("rx-08-patient-list")
    page.get_by_role("link", name=first.number, exact=True).click()
    expect(page.get_by_role("heading", name="Replaced by a correction")).to_be_visible()
    shoot("rx-09-superseded")
    page.get_by_role("link", name=correction.number).first.click()
    expect(page.get_by_role("heading", name="Medicines")).to_be_visible()
    shoot("rx-10-patient-detail")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf_path = ARTIFACTS / "rx-11-prescription.pdf"
    download.value.save_as(pdf_path)
    text = " ".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
    assert correction.number in text and "Amoxicillin 500 mg" in text and "JST (Asia/Tokyo)" in text
    if shutil.which("pdftoppm"):  # poppler-utils: a picture of the PDF to look at
        subprocess.run(  # noqa: S603
            ["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf_path), str(ARTIFACTS / "rx-11-prescription")],  # noqa: S607
            check=True,
        )

    page.context.clear_cookies()
    page.goto(f"{base}/prescriptions/verify/")
    shoot("rx-12-verify")
    for number, code, verdict in [
        (correction.number, correction.verification_code_display, "Valid"),
        (first.number, first.verification_code_display, "Superseded"),
        (first.number, "0000-0000-0000", "Unknown"),
    ]:
        page.get_by_label("Prescription number").fill(number)
        page.get_by_label("Verification code").fill(code)
        page.get_by_role("button", name="Check").click()
        expect(page.get_by_role("heading", name=verdict, exact=True)).to_be_visible()
        shoot(f"rx-13-verify-{verdict.lower()}")
    page.get_by_label("Prescription number").fill("12345")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_text("Enter the number as printed")).to_be_visible()
    shoot("rx-14-verify-bad-input")
