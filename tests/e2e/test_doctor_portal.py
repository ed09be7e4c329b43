"""The doctor's portal in a real browser on the demo data: the day after log-in, the week, the
lists and the schedule, screenshot at a desktop and a phone width (test-artifacts/e2e/)."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hospital import timefmt
from hospital.demo import DEMO_PASSWORD
from tests.e2e.helpers import enter_authenticator_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.mark.parametrize("width", WIDTHS)
def test_a_doctor_logs_in_to_their_day_and_walks_the_portal(live_server, page, screenshot, portal_doctor, width):
    page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail address").fill(portal_doctor.user.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    enter_authenticator_code(page, portal_doctor.user)

    expect(page).to_have_url(f"{live_server.url}/portal/")
    expect(page.get_by_text("Times in Asia/Tokyo (JST)")).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(7)  # the heading row and today's six visits
    expect(page.get_by_role("button", name=re.compile("^Complete visit"))).to_be_visible()
    screenshot(f"portal-day-{width}")

    page.get_by_role("link", name="This week").click()
    expect(page.get_by_role("heading", level=2)).to_have_count(7)
    screenshot(f"portal-week-{width}")

    page.get_by_role("link", name="Appointments", exact=True).click()
    expect(page.get_by_text(re.compile(r"\d+ upcoming appointments"))).to_be_visible()
    screenshot(f"portal-appointments-{width}")
    page.get_by_role("link", name="Past", exact=True).click()
    page.goto(page.url + "&from_day=2026-13-40")
    expect(page.get_by_text("Enter a valid date.")).to_be_visible()
    screenshot(f"portal-past-bad-filter-{width}")

    page.get_by_role("link", name="Hours & time off").click()
    expect(page.get_by_text("Orthopaedics congress")).to_be_visible()
    screenshot(f"portal-schedule-{width}")
    today = timefmt.local(timezone.now(), portal_doctor.timezone).date().isoformat()
    page.get_by_label("First day").fill(today)
    page.get_by_label("Last day").fill(today)
    page.get_by_role("button", name="Add time off").click()
    expect(page.get_by_role("alert")).to_contain_text("This time off covers booked visits")
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"JST \(Asia/Tokyo\): \w+ \w+, Completed"))
    screenshot(f"portal-time-off-refused-{width}")
