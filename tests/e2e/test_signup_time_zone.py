import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_up_presets_the_browsers_time_zone(live_server, browser):
    context = browser.new_context(timezone_id="America/New_York")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/signup/")
        expect(page.get_by_label("Your time zone")).to_have_value("America/New_York")
    finally:
        context.close()


def test_without_scripts_the_hospitals_zone_stays(live_server, browser):
    context = browser.new_context(timezone_id="America/New_York", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/signup/")
        expect(page.get_by_label("Your time zone")).to_have_value("Europe/London")
    finally:
        context.close()
