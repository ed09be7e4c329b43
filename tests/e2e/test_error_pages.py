"""What a patient sees when something fails: a page that says so plainly, with the reference to
quote on the phone (the request's id, also in our log lines), readable and accessible."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_accessibility import AxeAudit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_fault_and_not_found_pages_quote_the_reference_and_pass_axe(live_server, page, screenshot, settings):
    settings.ROOT_URLCONF = "tests.hospital.raising_urls"
    audit = AxeAudit(page)

    response = page.goto(f"{live_server.url}/broken/")
    assert response.status == 500
    expect(page.get_by_role("heading", name="Something went wrong on our side")).to_be_visible()
    expect(page.get_by_text(f"Reference: {response.headers['x-request-id']}.")).to_be_visible()
    expect(page.get_by_text("Traceback")).to_have_count(0)
    audit.check("500")
    screenshot("error-500")

    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response.status == 404
    expect(page.get_by_text(f"Reference: {response.headers['x-request-id']}.")).to_be_visible()
    audit.check("404")
    screenshot("error-404")
    audit.assert_clean()
