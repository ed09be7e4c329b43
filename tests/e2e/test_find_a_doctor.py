import datetime as dt

import pytest
from playwright.sync_api import expect

from hospital.services import slots_generate
from tests.factories import DoctorFactory, SpecialtyFactory, UserFactory, WorkingHoursFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def doctor_with_hours(first, last, specialty, zone):
    doctor = DoctorFactory(
        user=UserFactory(first_name=first, last_name=last, role="doctor"), specialty=specialty, timezone=zone
    )
    for weekday in range(7):
        WorkingHoursFactory(doctor=doctor, weekday=weekday, start_time=dt.time(9), end_time=dt.time(11))
    slots_generate(doctor=doctor, days=7)
    return doctor


def test_visitor_filters_the_directory_opens_a_doctor_and_sees_free_slots(live_server, page, screenshot):
    cardiology = SpecialtyFactory(name="Cardiology")
    dermatology = SpecialtyFactory(name="Dermatology")
    doctor_with_hours("Amara", "Okafor", cardiology, "Europe/London")
    doctor_with_hours("Sofia", "Marquez", dermatology, "America/New_York")
    doctor_with_hours("Hiroshi", "Tanaka", cardiology, "Asia/Tokyo")

    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Find a doctor").click()
    expect(page.get_by_text("3 doctors found")).to_be_visible()

    page.get_by_label("Specialty").select_option(label="Cardiology")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("2 doctors found")).to_be_visible()
    expect(page.get_by_role("link", name="Dr Sofia Marquez")).to_have_count(0)
    screenshot("directory-filtered")

    page.get_by_role("link", name="Dr Hiroshi Tanaka").click()
    expect(page.get_by_role("heading", name="Dr Hiroshi Tanaka")).to_be_visible()
    expect(page.get_by_text("All times are in Asia/Tokyo")).to_be_visible()
    slots = page.locator(".slot-chip")
    assert slots.count() >= 4
    expect(slots.first).to_contain_text("JST")
    assert slots.first.locator("time").inner_text() in {"09:00", "09:30", "10:00", "10:30"}
    screenshot("doctor-page")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/doctors/")
    expect(page.get_by_role("link", name="Dr Amara Okafor")).to_be_visible()
    screenshot("directory-phone")
