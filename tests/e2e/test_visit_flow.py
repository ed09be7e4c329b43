"""One visit from end to end in a real browser, on the demo data (seed_demo, then generate_slots,
as scripts/demo.sh runs them): the doctor opens their day, starts the visit that is ready, writes
a draft note, signs it by completing the visit, adds an addendum and writes a prescription with
the keyboard; the patient reads the prescription, downloads its PDF and rates the visit, and the
doctor's public page shows the rating. The patient adds the visit to their calendar before it
starts: its page offers the .ics while the visit is still to come.

Every page on the way is audited with axe and screenshot at 1280 and 390 px wide
(test-artifacts/e2e/flow-*.png). The clock is set to a Tuesday morning in Tokyo, where the demo's
doctor works, so the visit the demo leaves ready to start is ready whatever the hour of the run."""

import datetime as dt
import io
import os
import re
from collections import Counter
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Q
from icalendar import Calendar
from playwright.sync_api import expect
from pypdf import PdfReader

from appointments.models import Appointment, AppointmentStatus, Review, VisitNote
from hospital.demo import DEMO_PASSWORD
from hospital.models import AuditAction, AuditEntry, Doctor
from hospital.selectors import rating_summary
from prescriptions.models import Prescription
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import AxeAudit, Keyboard, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# 10:31 in Tokyo: the demo's 10:30 visit may start; the next one, at 11:00, opens at 10:45.
NOW = dt.datetime(2026, 12, 8, 1, 31, tzinfo=dt.UTC)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NOTE = (
    "Both forearms: dry, scaly patches where the new gym gloves end; no sign of infection.",
    "Plan: hydrocortisone cream for a week, an antihistamine at night, no gloves. Review in two weeks.",
)
ADDENDUM = "Correction: the patches are on the inner forearms only."
# Typed into the prescription's rows label by label; the route is a menu, where typing picks the option.
MEDICINES = [
    {"Medicine": "Hydrocortisone cream", "Strength": "1%", "Dose": "a thin layer", "Route": "On the skin",
     "How often": "twice a day", "For how long": "7 days", "Quantity": "1", "Instructions": "on the patches only"},
    {"Medicine": "Cetirizine", "Strength": "10 mg", "Dose": "1 tablet", "Route": "By mouth",
     "How often": "once a day, at night", "For how long": "14 days", "Quantity": "14", "Instructions": ""},
]  # fmt: skip


@pytest.fixture
def demo_morning(db):
    """The demo's doctor Hiroshi Tanaka at NOW, the clock running on from there."""
    with time_machine.travel(NOW, tick=True):
        quiet = open(os.devnull, "w")  # noqa: SIM115
        call_command("seed_demo", stdout=quiet)
        call_command("generate_slots", stdout=quiet)
        yield Doctor.objects.select_related("user").get(user__email="hiroshi.tanaka@example.com")


@pytest.fixture
def audit(page):
    return AxeAudit(page)


@pytest.fixture
def look(page, screenshot, audit):
    """The page as it is: audited with axe and screenshot, at 1280 px wide and then at 390."""

    def at_both_widths(name: str) -> None:
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            audit.check(f"{name} at {size['width']} px")
            screenshot(f"flow-{name}-{size['width']}")
        page.set_viewport_size(DESKTOP)

    return at_both_widths


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def test_a_visit_from_the_doctors_day_to_the_patients_rating(live_server, page, look, audit, demo_morning):
    base, doctor = live_server.url, demo_morning
    ready = Appointment.objects.select_related("patient", "slot").get(
        doctor=doctor, status=AppointmentStatus.CONFIRMED, slot__starts_at__lte=NOW
    )
    patient, patient_name = ready.patient, ready.patient.get_full_name()
    # The demo has rated some of the doctor's visits already: the page shows the totals with ours.
    rated = rating_summary(review_count=doctor.review_count + 1, rating_sum=doctor.rating_sum + 5)
    rating_shown = f"{rated.average_text} out of 5 ({rated.count_text})"
    keys = Keyboard(page)

    # The patient, before the visit: its page and its .ics.
    log_in(page, base, patient.email, password=DEMO_PASSWORD)
    page.get_by_role("link", name="My appointments").click()
    visit_card = page.locator(".appointment-card", has_text="Tuesday 8 December 2026, 10:30")
    expect(visit_card).to_contain_text("Confirmed")
    look("01-patient-appointments")
    visit_card.get_by_role("link", name="Dr Hiroshi Tanaka", exact=True).click()
    expect(page.get_by_role("heading", name="Dr Hiroshi Tanaka", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    expect(page.get_by_text("Room 3.02, Orthopaedics")).to_be_visible()
    look("02-patient-visit-booked")
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to my calendar").click()
    [event] = Calendar.from_ical(Path(download.value.path()).read_bytes()).events
    assert event.start == ready.slot.starts_at and str(event.start.tzinfo) == "Asia/Tokyo"
    assert event["LOCATION"] == "Riverside Building, 1 Riverside Way, Room 3.02, Orthopaedics"
    log_out(page)

    # The doctor's day: only the visit whose time has come can start.
    log_in(page, base, doctor.user.email, password=DEMO_PASSWORD)
    expect(page).to_have_url(f"{base}/portal/")
    expect(page.get_by_role("heading", name="Tuesday 8 December 2026", level=1)).to_be_visible()
    expect(page.get_by_text("Times in Asia/Tokyo (JST)")).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(7)  # the heading row and the demo's six visits
    start = page.get_by_role("button", name=re.compile("^Start visit"))
    expect(start).to_have_count(1)  # the 11:00 visit opens at 10:45
    expect(start).to_have_accessible_name(f"Start visit for {patient_name}, 10:30")
    look("03-doctor-day")
    start.click()

    # Starting opens the visit's page and its note.
    expect(page).to_have_url(f"{base}/appointments/{ready.pk}/")
    expect(page.get_by_role("status")).to_have_text(
        "Visit started. Write your note below while the visit is in progress."
    )
    expect(page.get_by_role("heading", name=patient_name, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Visit in progress")).to_be_visible()
    look("04-doctor-visit-started")
    keys.tab_to(page.get_by_role("textbox", name="Draft note"))
    page.keyboard.type(NOTE[0])
    page.keyboard.press("Enter")
    page.keyboard.type(NOTE[1])
    keys.tab_to(page.get_by_role("button", name="Save draft"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Draft note saved.")
    expect(page.get_by_text("Draft, last saved 8 Dec 2026, 10:3")).to_be_visible()
    look("05-doctor-visit-draft-saved")

    keys.tab_to(page.get_by_role("button", name="Sign note and complete visit"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Visit completed")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "Visit completed. Your note is signed; corrections from now on are addenda."
    )
    expect(page.get_by_text("Signed by Hiroshi Tanaka")).to_be_visible()
    expect(page.get_by_text(NOTE[1])).to_be_visible()
    look("06-doctor-visit-completed")

    keys.tab_to(page.get_by_role("textbox", name="New addendum"))
    page.keyboard.type(ADDENDUM)
    keys.tab_to(page.get_by_role("button", name="Sign and add addendum"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Addendum signed and added to the note.")
    expect(page.locator(".addendum")).to_contain_text(ADDENDUM)
    look("07-doctor-visit-addendum")

    # The prescription, typed field after field.
    keys.tab_to(page.get_by_role("link", name="Write prescription"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Write a prescription")).to_be_visible()
    look("08-doctor-write-prescription")
    (first, text), *rest = [
        (page.get_by_role("group", name=f"Medicine {number}").get_by_label(label), text)
        for number, medicine in enumerate(MEDICINES, start=1)
        for label, text in medicine.items()
    ]
    keys.tab_to(first)
    page.keyboard.type(text)
    for field, text in rest:
        keys.next_field(field, text)
    expect(page.get_by_role("group", name="Medicine 1").get_by_label("Route")).to_have_value("topical")
    keys.tab_to(page.get_by_label("General advice"))
    page.keyboard.type("Wash with a mild soap and keep the skin moisturised.")
    look("09-doctor-prescription-typed")
    keys.tab_to(page.get_by_role("button", name="Issue prescription"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("issued. The patient can read and download it now.")
    prescription = Prescription.objects.get(appointment=ready)
    expect(page.get_by_role("heading", name=prescription.number)).to_be_visible()
    look("10-doctor-prescription-issued")
    log_out(page)

    # The patient, after the visit: the prescription and its PDF, the rating, the doctor's page.
    log_in(page, base, patient.email, password=DEMO_PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Prescriptions").click()
    expect(page.get_by_role("heading", name="My prescriptions")).to_be_visible()
    look("11-patient-prescriptions")
    page.get_by_role("link", name=prescription.number, exact=True).click()
    expect(page.get_by_role("heading", name=prescription.number)).to_be_visible()
    expect(page.get_by_role("heading", name="Medicines")).to_be_visible()
    expect(page.get_by_text("Hydrocortisone cream")).to_be_visible()
    look("12-patient-prescription")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == f"{prescription.number}.pdf"
    pdf = ARTIFACTS / "flow-12-prescription.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = " ".join(pdf_page.extract_text() for pdf_page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert prescription.number in text and prescription.verification_code_display in text
    assert "Hydrocortisone cream" in text and "Cetirizine 10 mg" in text and patient_name in text

    page.get_by_role("link", name="8 Dec 2026, 10:30 JST").click()  # the visit it was written at
    expect(page.get_by_role("heading", name="How was your visit?")).to_be_visible()
    expect(page.get_by_role("link", name="Add to my calendar")).to_have_count(0)  # a visit past
    look("13-patient-visit-to-rate")
    page.get_by_label("5 Excellent").check()
    page.get_by_label("Comment").fill("Clear explanation and a plan I can follow.")
    page.get_by_role("button", name="Send rating").click()
    expect(page.get_by_role("status")).to_have_text("Thank you for rating your visit.")
    expect(page.get_by_text("5 out of 5 · Excellent")).to_be_visible()
    look("14-patient-visit-rated")

    page.get_by_role("link", name="Find a doctor").click()
    card = page.locator(".doctor-card", has_text="Dr Hiroshi Tanaka")
    expect(card.locator(".rating")).to_contain_text(rating_shown)
    look("15-patient-doctor-directory")
    card.get_by_role("link", name="Dr Hiroshi Tanaka").click()
    expect(page.get_by_role("heading", name="Dr Hiroshi Tanaka", level=1)).to_be_visible()
    expect(page.locator(".doctor-profile .rating")).to_contain_text(rating_shown)
    look("16-patient-doctor-page")

    audit.assert_clean()
    assert not keys.unseen_focus, "\n".join(keys.unseen_focus)
    ready.refresh_from_db()
    assert ready.status == AppointmentStatus.COMPLETED
    note = VisitNote.objects.get(appointment=ready)
    assert note.text.splitlines() == list(NOTE) and note.signed_by == doctor.user and note.signed_at is not None
    assert list(note.addenda.values_list("text", "author")) == [(ADDENDUM, doctor.user.pk)]
    assert Prescription.objects.filter(appointment=ready, issued_at__isnull=False).count() == 1
    assert list(prescription.items.values_list("medicine", "route")) == [
        ("Hydrocortisone cream", "topical"),
        ("Cetirizine", "oral"),
    ]
    assert list(Review.objects.filter(appointment=ready).values_list("rating", flat=True)) == [5]
    # What this visit's records were read and written as (the demo's other visits have entries too).
    this_visit = (
        Q(record_type="appointments.visitnote", record_id=str(note.pk))
        | Q(
            record_type="appointments.visitnoteaddendum",
            record_id__in=[str(pk) for pk in note.addenda.values_list("pk", flat=True)],
        )
        | Q(record_type="prescriptions.prescription", record_id=str(prescription.pk))
    )
    audited = Counter(AuditEntry.objects.filter(this_visit).values_list("actor", "action", "record_type"))
    assert {
        (doctor.user.pk, AuditAction.CREATE, "appointments.visitnote"): 1,  # the draft
        (doctor.user.pk, AuditAction.SIGN, "appointments.visitnote"): 1,
        (doctor.user.pk, AuditAction.CREATE, "appointments.visitnoteaddendum"): 1,
        (doctor.user.pk, AuditAction.CREATE, "prescriptions.prescription"): 1,
        (patient.pk, AuditAction.DOWNLOAD, "prescriptions.prescription"): 1,
    }.items() <= audited.items()
    assert audited[(doctor.user.pk, AuditAction.READ, "appointments.visitnote")] >= 3  # each page showing it
    assert audited[(patient.pk, AuditAction.READ, "prescriptions.prescription")] == 1
