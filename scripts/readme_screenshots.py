"""Take the README's screenshots from a running demo: `python scripts/readme_screenshots.py [URL]`."""

import os
import re
import subprocess
import sys
import time
import urllib.request
from base64 import b32decode
from pathlib import Path

from django_otp.oath import totp
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.browser import launch_chromium

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
PAGES = {
    "home": "/",
    "directory": "/doctors/",
    "doctor": "/doctors/?q=okafor",
    "signup": "/accounts/signup/",
}


def wait_for(base_url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(base_url, timeout=2)  # noqa: S310 - our own local demo
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def shoot(page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def book_and_pay(page, base_url: str) -> None:
    """The demo patient books a time and pays on the Stripe stand-in's hosted page."""
    page.goto(base_url + "/accounts/login/")
    page.get_by_label("E-mail address").fill("patient@example.com")
    page.get_by_label("Password").fill("demo-pass-2026")
    page.get_by_role("button", name="Log in").click()
    page.goto(base_url + "/doctors/?q=okafor")
    page.locator(".doctor-card h2 a").first.click()
    page.locator("a.slot-chip").nth(2).click()
    page.get_by_label("Reason for visit").fill("Follow-up on blood pressure readings")
    shoot(page, "book-confirm")
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Pat Demo")
    shoot(page, "checkout")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_load_state()
    shoot(page, "appointment-confirmed")
    page.goto(base_url + "/appointments/")
    shoot(page, "my-appointments")


def demo_code(email: str) -> str:
    """What the demo account's authenticator app would show, as `manage.py demo_totp_code` prints it."""
    command = [sys.executable, "manage.py", "demo_totp_code", email]
    env = {"DJANGO_DEBUG": "true", **os.environ}  # as scripts/demo.sh sets it
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60)  # noqa: S603
    return done.stdout.strip()


def second_factor(page, email: str) -> None:
    """Staff and doctors: the code page after the password. A code works once, so a second log-in
    of one account within its 30 s waits for the next code."""
    for _ in range(2):
        page.get_by_label("6-digit code").fill(demo_code(email))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
        if not page.get_by_text("already been used").count():
            return
        time.sleep(31.5 - time.time() % 30)
    raise RuntimeError(f"no unused code for {email}")


def staff_admin_log_in(page, base_url: str) -> None:
    page.context.clear_cookies()
    page.goto(base_url + "/admin/login/")
    page.get_by_label("E-mail address").fill("admin@example.com")
    page.get_by_label("Password").fill("demo-pass-2026")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    second_factor(page, "admin@example.com")


def staff_admin(page, base_url: str) -> None:
    """The staff's admin index: the hospital's sections first, Stripe's synced records last."""
    staff_admin_log_in(page, base_url)
    shoot(page, "admin")


def log_in(page, base_url: str, email: str) -> None:
    page.context.clear_cookies()
    page.goto(base_url + "/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("demo-pass-2026")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def doctor_portal(page, base_url: str) -> None:
    """A demo doctor's code page after the password, their day (seed_demo gives each one visits
    today), a visit under way with its draft note, a completed one with its signed note and
    prescription, the prescription, week and schedule, and the day on a phone."""
    log_in(page, base_url, "hiroshi.tanaka@example.com")
    shoot(page, "two-factor-code")
    second_factor(page, "hiroshi.tanaka@example.com")
    shoot(page, "portal-day")
    day = page.url
    page.locator("tr", has_text="In progress").locator(".visit-patient a").first.click()
    shoot(page, "visit-in-progress")
    page.goto(day)
    page.locator("tr", has_text="Completed").locator(".visit-patient a").first.click()
    shoot(page, "visit-completed")
    page.locator(".rx-section a").first.click()
    shoot(page, "prescription")
    for name, path in {"portal-week": "/portal/week/", "portal-schedule": "/portal/schedule/"}.items():
        page.goto(base_url + path)
        shoot(page, name)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_url + "/portal/")
    shoot(page, "portal-day-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def two_factor_set_up(page, base_url: str) -> None:
    """A doctor's set-up of two-factor log-in: staff reset the demo doctor's app in the admin (a lost
    phone); at their next log-in the doctor scans the QR code (here: types the key) and confirms.
    The next seed_demo gives them the demo secret again."""
    email = "priya.raman@example.com"
    staff_admin_log_in(page, base_url)
    page.goto(f"{base_url}/admin/accounts/user/?q={email}")
    page.locator("#result_list tbody tr", has_text=email).locator("input.action-select").check()
    page.get_by_label("Action:").select_option(label="Reset two-factor log-in (lost phone: set up the app again)")
    page.get_by_role("button", name="Go").click()
    page.wait_for_load_state()
    log_in(page, base_url, email)
    shoot(page, "two-factor-set-up")
    key = page.locator(".totp-secret").inner_text().replace(" ", "")
    page.get_by_label("6-digit code").fill(f"{totp(b32decode(key)):06d}")
    page.get_by_role("button", name="Confirm and continue").click()
    page.wait_for_load_state()


def patient_after_the_visit(page, base_url: str) -> None:
    """The demo patient's prescriptions and a completed visit waiting for their rating."""
    log_in(page, base_url, "patient@example.com")
    page.goto(base_url + "/prescriptions/")
    shoot(page, "patient-prescriptions")
    page.goto(base_url + "/appointments/?when=past")
    page.locator(".appointment-card", has_text="Completed").locator("a").first.click()
    shoot(page, "patient-visit-completed")


def patient_money(page, base_url: str) -> None:
    """The demo patient's visit to come (more than a day ahead): moving it, canceling it at 100 %
    and its receipt; and the credit note of the visit they canceled at 50 %."""
    log_in(page, base_url, "patient@example.com")
    # Latest first: the demo's visit with Dr Marquez eleven days ahead, not one of today's.
    page.goto(base_url + "/appointments/?when=upcoming&sort=latest")
    page.locator(".appointment-card", has_text="Dr Sofia Marquez").first.locator("a").first.click()
    visit = page.url
    page.get_by_role("link", name="Move to another time").click()
    shoot(page, "patient-reschedule")
    page.goto(visit)
    page.get_by_role("link", name="Cancel appointment").click()
    shoot(page, "patient-cancel")
    page.goto(visit)
    page.locator(".document-list a").first.click()
    shoot(page, "receipt")
    page.goto(base_url + "/appointments/?when=past&status=canceled")
    page.locator(".appointment-card").first.locator("a").first.click()
    page.locator(".document-list a", has_text="Credit note").first.click()
    shoot(page, "credit-note")


def staff_money(page, base_url: str) -> None:
    """Billing's tools on the demo's money history: the money panel of a completed visit staff
    refunded a third of, the admin's refund form, the money dashboard and the e-mail previews."""
    staff_admin_log_in(page, base_url)
    page.goto(base_url + "/admin/payments/payment/?status__exact=partially_refunded")
    row = page.locator("#result_list tbody tr", has_text="Dr Amara Okafor").first
    appointment_id = re.search(r"#(\d+)", row.locator(".field-appointment").inner_text()).group(1)
    row.locator("input.action-select").check()
    page.get_by_label("Action:").select_option(label="Refund…")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("Amount to refund").fill("10.00")
    page.get_by_label("Reason").fill("Parking refund promised by the front desk.")
    shoot(page, "admin-refund-form")
    page.goto(f"{base_url}/appointments/{appointment_id}/")
    shoot(page, "staff-money-panel")
    for name, path in {"money-dashboard": "/admin/payments/dashboard/", "email-previews": "/admin/emails/"}.items():
        page.goto(base_url + path)
        shoot(page, name)


def api_pages(page, base_url: str) -> None:
    """The demo patient's API tokens on their profile (one made for the picture), and the API's
    two documentation pages, rendered from the schema (operations expanded as a reader finds them)."""
    log_in(page, base_url, "patient@example.com")
    page.goto(base_url + "/accounts/profile/")
    if not page.locator(".token-table").count():
        page.get_by_label("Token name").fill("My phone")
        page.get_by_role("button", name="Create token").click()
        page.goto(base_url + "/accounts/profile/")
    page.locator("#api-tokens").scroll_into_view_if_needed()
    shoot(page, "profile-api-tokens")
    page.goto(base_url + "/api/v1/docs/")
    page.locator(".opblock").first.wait_for()
    shoot(page, "api-docs")
    page.goto(base_url + "/api/v1/reference/")
    page.get_by_role("heading", name="Northbridge Hospital API").first.wait_for()
    page.screenshot(path=str(OUT / "api-reference.png"))


def main(base_url: str) -> None:
    wait_for(base_url)
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in PAGES.items():
            page.goto(base_url + path)
            if name == "doctor":
                page.locator(".doctor-card h2 a").first.click()
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=name != "doctor")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(base_url + "/doctors/")
        page.screenshot(path=str(OUT / "directory-phone.png"))
        page.set_viewport_size({"width": 1280, "height": 900})
        book_and_pay(page, base_url)
        staff_admin(page, base_url)
        doctor_portal(page, base_url)
        two_factor_set_up(page, base_url)
        patient_after_the_visit(page, base_url)
        patient_money(page, base_url)
        staff_money(page, base_url)
        api_pages(page, base_url)
        browser.close()
    print(f"Screenshots written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
