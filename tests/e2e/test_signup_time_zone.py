import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("scripts", "preselected"),
    [(True, "America/New_York"), (False, "Europe/London")],  # without scripts: the hospital's zone
    ids=["browser's zone", "without scripts"],
)
def test_sign_up_presets_the_browsers_time_zone_where_scripts_run(live_server, browser, scripts, preselected):
    context = browser.new_context(timezone_id="America/New_York", java_script_enabled=scripts)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/signup/")
        expect(page.get_by_label("Your time zone")).to_have_value(preselected)
    finally:
        context.close()
