"""Two-factor log-in in a real browser: a staff member's first log-in sets up an authenticator app
from the key on the page (as a phone would scan it), with the keyboard alone; the next log-in asks
for the code, refuses a wrong one, then lets them in. axe checks both pages; screenshots of both
go to test-artifacts/e2e/."""

import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.e2e.helpers import authenticator_app, authenticator_code
from tests.e2e.test_accessibility import AxeAudit, Keyboard
from tests.factories import TEST_PASSWORD, DoctorFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def password_step(page, base_url: str, email: str, path: str) -> None:
    page.goto(base_url + path)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_label("Password").press("Enter")


def test_a_staff_member_sets_up_the_app_then_logs_in_with_its_code(live_server, page, screenshot):
    base = live_server.url
    staff = StaffFactory(email="ward.admin@example.com", first_name="Robin")
    audit = AxeAudit(page)
    keyboard = Keyboard(page)

    password_step(page, base, staff.email, "/admin/login/")  # the admin's own log-in is no way around it
    expect(page.get_by_role("heading", name="Set up two-factor log-in")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/set-up/\?next=%2Fadmin%2F$"))
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    audit.check("two-factor set-up")
    screenshot("two-factor-set-up")
    field = page.get_by_label("6-digit code")
    expect(field).to_be_focused()  # straight to the field, from the keyboard
    expect(field).to_have_attribute("autocomplete", "one-time-code")
    expect(field).to_have_attribute("inputmode", "numeric")

    key = page.locator(".totp-secret").inner_text()
    assert "ward.admin@example.com" in page.locator("main").inner_text()
    typed_into_the_app = b32decode(key.replace(" ", ""))
    page.keyboard.type(f"{totp(typed_into_the_app):06d}")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Two-factor log-in is set up")).to_be_visible()
    expect(page).to_have_url(f"{base}/admin/")
    assert TOTPDevice.objects.get(user=staff).confirmed

    page.get_by_role("button", name=re.compile("log out", re.I)).click()
    password_step(page, base, staff.email, "/accounts/login/")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_text("Enter the 6-digit code from your authenticator app")).to_be_visible()
    audit.check("two-factor code")
    screenshot("two-factor-code")

    expect(page.get_by_label("6-digit code")).to_be_focused()
    page.keyboard.type(f"{(int(authenticator_code(staff)) + 1) % 1_000_000:06d}")  # a digit off
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    audit.check("two-factor code, wrong")
    screenshot("two-factor-code-wrong")

    time.sleep(1.1)  # one wrong code: the next try may come after a second
    keyboard.tab_to(page.get_by_role("button", name="Continue"))  # every stop shows its focus
    keyboard.tab_to(page.get_by_label("6-digit code"), backwards=True)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(authenticator_code(staff))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert not keyboard.unseen_focus, keyboard.unseen_focus
    audit.assert_clean()


def test_an_unverified_doctor_reaches_neither_the_portal_nor_the_api(live_server, page):
    base = live_server.url
    doctor = DoctorFactory()
    authenticator_app(doctor.user)
    password_step(page, base, doctor.user.email, "/accounts/login/")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()

    page.goto(f"{base}/portal/week/")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    api = page.request.get(f"{base}/api/v1/me/")
    assert api.status == 403
    assert api.json()["error"]["code"] == "second_factor_required"

    page.get_by_label("6-digit code").fill(authenticator_code(doctor.user))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/portal/week/")
    assert page.request.get(f"{base}/api/v1/me/").json()["role"] == "doctor"
