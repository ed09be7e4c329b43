"""A patient rates a completed, paid visit in a real browser with the keyboard alone, and the
doctor's rating shows on the directory and the doctor page at once. Screenshots at 1280 and 390 px."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from appointments.models import AppointmentStatus, Review
from hospital.models import Doctor
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import Keyboard, log_in
from tests.factories import DoctorFactory, PatientFactory, SpecialtyFactory, UserFactory, visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def at_both_widths(page, screenshot, name: str) -> None:
    screenshot(name)
    page.set_viewport_size(PHONE)
    screenshot(f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_a_patient_rates_a_visit_by_keyboard_and_the_directory_shows_it(live_server, page, screenshot, bookable_doctor):
    base = live_server.url
    patient = PatientFactory(email="pat@example.com", first_name="Pat")
    last_week = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=7)
    appointment = visit(
        status=AppointmentStatus.COMPLETED, patient=patient, doctor=bookable_doctor, starts_at=last_week
    )
    # Neighbours on the directory: a doctor rated often, one never.
    busy = DoctorFactory(
        user=UserFactory(first_name="Sofia", last_name="Marquez", role="doctor"),
        specialty=SpecialtyFactory(name="Dermatology"),
    )
    Doctor.objects.filter(pk=busy.pk).update(review_count=23, rating_sum=108)
    DoctorFactory(user=UserFactory(first_name="Hiroshi", last_name="Tanaka", role="doctor"))
    keys = Keyboard(page)

    log_in(page, base, patient.email)
    page.goto(f"{base}/appointments/{appointment.pk}/")
    expect(page.get_by_role("heading", name="How was your visit?")).to_be_visible()
    at_both_widths(page, screenshot, "review-01-form")

    # Sent with no rating: the error is at the fieldset, nothing is written.
    keys.tab_to(page.get_by_role("button", name="Send rating"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Choose a rating from 1 to 5.")).to_be_visible()
    assert not Review.objects.exists()
    screenshot("review-02-no-rating")

    # Radios: Tab reaches the group, the arrow keys choose within it.
    keys.tab_to(page.get_by_label("1 Poor"))
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_label("4 Very good")).to_be_checked()
    keys.tab_to(page.get_by_label("Comment"))
    page.keyboard.type("Listened carefully and explained the results.")
    screenshot("review-03-chosen")
    keys.tab_to(page.get_by_role("button", name="Send rating"))
    page.keyboard.press("Enter")

    expect(page.get_by_text("Thank you for rating your visit.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your rating")).to_be_visible()
    expect(page.get_by_text("4 out of 5 · Very good")).to_be_visible()
    expect(page.get_by_role("button", name="Send rating")).to_have_count(0)
    at_both_widths(page, screenshot, "review-04-rated")
    assert list(Review.objects.values_list("rating", "comment")) == [
        (4, "Listened carefully and explained the results.")
    ]
    assert not keys.unseen_focus, "\n".join(keys.unseen_focus)

    page.goto(f"{base}/doctors/")
    okafor = page.locator(".doctor-card", has_text="Dr Amara Okafor")
    expect(okafor.locator(".rating")).to_have_text("★ Patients' rating: 4.0 out of 5 (1 review)")
    expect(page.locator(".doctor-card", has_text="Dr Sofia Marquez").locator(".rating")).to_contain_text(
        "4.7 out of 5 (23 reviews)"
    )
    expect(page.locator(".doctor-card", has_text="Dr Hiroshi Tanaka")).to_contain_text("No reviews yet")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    okafor.screenshot(path=str(ARTIFACTS / "review-05-directory-card.png"))
    at_both_widths(page, screenshot, "review-05-directory")
    page.set_viewport_size(PHONE)
    okafor.screenshot(path=str(ARTIFACTS / "review-05-directory-card-phone.png"))
    page.set_viewport_size(DESKTOP)

    page.goto(f"{base}/doctors/{bookable_doctor.pk}/")
    expect(page.locator(".doctor-profile .rating")).to_contain_text("4.0 out of 5 (1 review)")
    at_both_widths(page, screenshot, "review-06-doctor-page")
