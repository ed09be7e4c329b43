"""Every page a person can reach passes axe-core's WCAG 2.2 AA checks (no serious or critical
violation), and a booking can be made and paid with the keyboard alone, focus always visible.

axe-core's script comes inside the `axe-playwright-python` package (no network needed). One
browser context per role; each test walks that role's pages and reports every page's violations
at once, so a run shows all there is to fix.
"""

import datetime as dt
import re

import pytest
import time_machine
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from accounts.models import StaffGroup, User
from accounts.two_factor import two_factor_required
from appointments.models import Appointment, AppointmentStatus
from appointments.services import appointment_complete, visit_note_add_addendum
from hospital import timefmt
from hospital.demo import DEMO_PASSWORD
from hospital.models import Slot, VisitType
from payments.models import CheckoutAttempt, PaymentStatus
from payments.services import checkout_redirect_url, hold_cancel
from prescriptions.models import Prescription
from prescriptions.services import prescription_issue
from tests.e2e.helpers import authenticator_app, enter_authenticator_code, wait_for
from tests.factories import (
    TEST_PASSWORD,
    DoctorFactory,
    PatientFactory,
    SlotFactory,
    StaffFactory,
    UserFactory,
    hold_slot,
    visit,
)
from tests.payments.money_mix import a_year_of_money
from tests.prescriptions.conftest import AMOXICILLIN

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
FAILING_IMPACTS = {"serious", "critical"}
MAX_TARGETS = 5  # per rule and page in the report: a list of slot chips says it all in five
# WCAG 2.0-2.2 A and AA, plus axe's best practices (landmarks, headings, regions).
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


class AxeAudit:
    """Runs axe on each page visited and keeps the serious and critical violations by page."""

    def __init__(self, page):
        self.page = page
        self.found: dict[str, list[str]] = {}

    def check(self, name: str) -> None:
        results = AXE.run(self.page, options=AXE_OPTIONS).response
        lines = []
        for violation in results["violations"]:
            if violation["impact"] not in FAILING_IMPACTS:
                continue
            targets = [" ".join(node["target"]) for node in violation["nodes"]]
            lines.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}")
            lines.extend(f"      {target}" for target in targets[:MAX_TARGETS])
            if len(targets) > MAX_TARGETS:
                lines.append(f"      … and {len(targets) - MAX_TARGETS} more")
        if lines:
            self.found[f"{name} ({self.page.url})"] = lines

    def assert_clean(self) -> None:
        report = "\n".join(f"{page}\n" + "\n".join(lines) for page, lines in self.found.items())
        assert not self.found, f"axe found serious or critical violations on {len(self.found)} page(s):\n{report}"


@pytest.fixture
def audit(page):
    return AxeAudit(page)


def free_slots(doctor, count: int) -> list[Slot]:
    slots = list(Slot.objects.bookable().filter(doctor=doctor).order_by("starts_at")[:count])
    assert len(slots) == count
    return slots


def log_in(page, base_url: str, email: str, path: str = "/accounts/login/", password: str = TEST_PASSWORD) -> None:
    """Through the log-in form; staff and doctors then type their authenticator app's code."""
    user = User.objects.get(email=email)
    if two_factor_required(user):
        authenticator_app(user)
    page.goto(base_url + path)
    page.get_by_label(re.compile("e-?mail", re.I)).first.fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if two_factor_required(user):
        enter_authenticator_code(page, user)
    expect(page.get_by_role("button", name=re.compile("log out", re.I))).to_be_visible()


def test_visitor_pages(live_server, page, audit, bookable_doctor):
    base = live_server.url
    patient = PatientFactory(email="pat@example.com")
    slot = free_slots(bookable_doctor, 1)[0]

    page.goto(f"{base}/")
    audit.check("home")
    page.goto(f"{base}/doctors/")
    expect(page.get_by_role("link", name="Dr Amara Okafor")).to_be_visible()
    audit.check("doctor directory")
    page.goto(f"{base}/doctors/?q=nobody-by-this-name")
    expect(page.get_by_text("No doctor matches your search")).to_be_visible()
    audit.check("doctor directory, no results")
    page.goto(f"{base}/doctors/{bookable_doctor.pk}/")
    audit.check("doctor page")
    page.goto(f"{base}/accounts/login/")
    audit.check("log-in")
    page.goto(f"{base}/accounts/login/?next=/appointments/book/{slot.pk}/")
    expect(page.get_by_text("Log in to book Dr Amara Okafor")).to_be_visible()
    audit.check("log-in for a booking")
    page.goto(f"{base}/accounts/signup/?next=/appointments/book/{slot.pk}/")
    audit.check("sign-up")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check("sign-up with errors")

    page.goto(f"{base}/accounts/password/reset/")
    audit.check("password reset")
    page.get_by_label(re.compile("e-?mail", re.I)).fill(patient.email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    audit.check("password reset sent")
    uid = urlsafe_base64_encode(force_bytes(patient.pk))
    token = default_token_generator.make_token(patient)
    page.goto(f"{base}/accounts/password/reset/{uid}/{token}/")
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    audit.check("password reset, choose a new password")
    page.goto(f"{base}/accounts/password/reset/{uid}/not-a-token/")
    audit.check("password reset, link no longer works")
    page.goto(f"{base}/accounts/password/reset/complete/")
    audit.check("password reset complete")

    page.goto(f"{base}/no-such-page/")
    audit.check("404")

    page.goto(f"{base}/accounts/login/")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label(re.compile("e-?mail", re.I)).fill(patient.email)
        page.get_by_label("Password").fill("not-the-password")
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        if attempt == 0:
            expect(page.get_by_role("alert")).to_be_visible()
            audit.check("log-in with errors")
    expect(page.get_by_role("heading", name="Log-in temporarily locked")).to_be_visible()
    audit.check("locked out")
    audit.assert_clean()


def test_the_page_past_the_log_in_limit(live_server, page, audit, screenshot, settings):
    """The 429 "try again in N minutes" page, reached as anyone reaches it: past the hour's log-ins."""
    settings.LOGIN_RATE_LIMIT_PER_HOUR_PER_ADDRESS = 1
    patient = PatientFactory(email="pat@example.com")
    page.goto(f"{live_server.url}/accounts/login/")
    for _ in range(2):  # the first is checked (a wrong password), the second is not
        page.get_by_label(re.compile("e-?mail", re.I)).first.fill(patient.email)
        page.get_by_label("Password").fill("not-the-password")
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Too many log-in attempts")).to_be_visible()
    expect(page.get_by_role("link", name="reset it by e-mail")).to_be_visible()
    audit.check("too many log-in attempts (429)")
    screenshot("too-many-log-in-attempts")
    audit.assert_clean()


def test_the_log_in_pages_staff_and_doctors_land_on_after_the_idle_log_off(
    live_server, page, audit, screenshot, settings
):
    base = live_server.url
    staff = StaffFactory(email="staff@example.com")
    doctor = DoctorFactory(user=UserFactory(email="amara@example.com", role="doctor")).user
    idle = dt.timedelta(minutes=settings.STAFF_IDLE_LOGOFF_MINUTES, seconds=30)
    told = f"You were signed out after {settings.STAFF_IDLE_LOGOFF_MINUTES} minutes without activity."

    for person, log_in_path, their_home, name in [
        (staff, "/admin/login/", "/admin/", "admin"),
        (doctor, "/accounts/login/", "/portal/", "site"),
    ]:
        log_in(page, base, person.email, path=log_in_path)
        with time_machine.travel(timezone.now() + idle, tick=True):  # the screen left open that long
            page.goto(f"{base}{their_home}")
            expect(page.get_by_text(told)).to_be_visible()
            expect(page.get_by_label("Password")).to_be_visible()
            audit.check(f"{name} log-in after the idle log-off")
            screenshot(f"idle-log-off-{name}")
    audit.assert_clean()


def _open_checkout(appointment: Appointment, base_url: str) -> tuple[str, str]:
    """The stand-in's hosted page URL and session id for a held appointment."""
    url = checkout_redirect_url(appointment_id=appointment.pk, site_url=base_url)
    return url, CheckoutAttempt.objects.filter(payment__appointment=appointment).first().session_id


def _appointment_status(appointment: Appointment) -> tuple[str, str]:
    appointment.refresh_from_db()
    appointment.payment.refresh_from_db()
    return appointment.status, appointment.payment.status


def test_patient_pages(live_server, page, audit, bookable_doctor, stripe_delivering_to):
    base = live_server.url
    standin = stripe_delivering_to
    patient = PatientFactory(email="pat@example.com", first_name="Pat")
    log_in(page, base, patient.email)

    page.goto(f"{base}/appointments/")
    expect(page.get_by_text("You have no upcoming appointments")).to_be_visible()
    audit.check("my appointments, none")
    page.goto(f"{base}/accounts/profile/")
    audit.check("profile")
    page.goto(f"{base}/accounts/password/change/")
    audit.check("password change")

    to_book, held_slot, paid_slot, refunded_slot, canceled_slot = free_slots(bookable_doctor, 5)
    page.goto(f"{base}/appointments/book/{to_book.pk}/")
    audit.check("booking confirm page")

    held = hold_slot(patient=patient, slot=held_slot)
    held_pay_url, _ = _open_checkout(held, base)
    paid = hold_slot(patient=patient, slot=paid_slot)
    refunded = hold_slot(patient=patient, slot=refunded_slot)
    for appointment in (paid, refunded):
        standin.pay(_open_checkout(appointment, base)[1])
    # Paid before the next holds: a patient may hold only three unpaid times at once.
    wait_for(lambda: _appointment_status(paid) == (AppointmentStatus.CONFIRMED, PaymentStatus.PAID))
    wait_for(lambda: _appointment_status(refunded) == (AppointmentStatus.CONFIRMED, PaymentStatus.PAID))
    canceled = hold_cancel(appointment_id=hold_slot(patient=patient, slot=canceled_slot).pk)
    two_days_ago = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
    past_slot = SlotFactory(doctor=bookable_doctor, starts_at=two_days_ago)
    lapsed = hold_slot(patient=patient, slot=past_slot, now=past_slot.starts_at - dt.timedelta(days=1))
    standin.refund(refunded.payment.payment_intent_id)
    wait_for(lambda: _appointment_status(refunded) == (AppointmentStatus.CANCELED, PaymentStatus.REFUNDED))

    page.goto(f"{base}/appointments/")
    expect(page.locator(".badge", has_text="Awaiting payment")).to_be_visible()
    audit.check("my appointments, upcoming")
    page.goto(f"{base}/appointments/?when=past")
    audit.check("my appointments, past")
    page.goto(f"{base}/appointments/?when=upcoming&status=confirmed&payment=paid")
    audit.check("my appointments, filtered")
    page.goto(f"{base}/appointments/?when=upcoming&status=completed")
    expect(page.get_by_text("No appointments match these filters")).to_be_visible()
    audit.check("my appointments, filtered to nothing")

    for name, appointment in [
        ("awaiting payment", held),
        ("confirmed and paid", paid),
        ("refunded", refunded),
        ("canceled before paying", canceled),
        ("hold lapsed", lapsed),
    ]:
        page.goto(f"{base}/appointments/{appointment.pk}/")
        audit.check(f"appointment detail, {name}")

    three_days_ago = two_days_ago - dt.timedelta(days=1)
    completed = visit(
        status=AppointmentStatus.COMPLETED, patient=patient, doctor=bookable_doctor, starts_at=three_days_ago
    )
    page.goto(f"{base}/appointments/{completed.pk}/")
    expect(page.get_by_role("group", name="Your rating")).to_be_visible()
    audit.check("appointment detail, completed: the rating form")
    page.get_by_role("button", name="Send rating").click()
    expect(page.get_by_text("Choose a rating from 1 to 5.")).to_be_visible()
    audit.check("appointment detail, completed: the rating form with errors")
    page.get_by_label("4 Very good").check()
    page.get_by_role("button", name="Send rating").click()
    expect(page.get_by_role("heading", name="Your rating")).to_be_visible()
    audit.check("appointment detail, completed: rated")

    page.goto(held_pay_url)
    expect(page.get_by_role("heading", name="Pay with card")).to_be_visible()
    audit.check("stand-in pay page")
    page.get_by_label("Card number").fill("4242")
    page.get_by_label("Expiry (MM / YY)").fill("01 / 01")
    page.get_by_label("CVC").fill("1")
    page.get_by_label("Name on card").fill("Pat")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check("stand-in pay page, field errors")
    audit.assert_clean()


def test_staff_pages(live_server, page, audit, bookable_doctor):
    base = live_server.url
    staff = StaffFactory(email="staff@example.com")
    hold_slot(patient=PatientFactory(), slot=free_slots(bookable_doctor, 1)[0])
    appointment = Appointment.objects.get()

    page.goto(f"{base}/admin/login/")
    audit.check("admin log-in")
    log_in(page, base, staff.email, path="/admin/login/")
    page.goto(f"{base}/admin/")
    audit.check("admin index")
    page.goto(f"{base}/admin/appointments/appointment/")
    audit.check("admin appointments list")
    page.goto(f"{base}/appointments/{appointment.pk}/")
    audit.check("appointment detail as staff")
    page.goto(f"{base}/doctors/{bookable_doctor.pk}/")
    audit.check("doctor page as staff (times not bookable)")
    page.goto(f"{base}/appointments/")
    expect(page.get_by_role("heading", name="This page is not for your account")).to_be_visible()
    audit.check("403")
    audit.assert_clean()


def test_money_dashboard(live_server, page, audit, screenshot):
    """Billing staff's dashboard with a year of money in three currencies: charts, tables, filter."""
    base = live_server.url
    billing = StaffFactory(email="billing@example.com", is_superuser=False)
    billing.groups.add(Group.objects.get(name=StaffGroup.BILLING))
    doctors = [
        DoctorFactory(user=UserFactory(role="doctor", first_name="Amara", last_name="Okafor")),
        DoctorFactory(
            user=UserFactory(role="doctor", first_name="Kenji", last_name="Tanaka"), fee_amount=9000, fee_currency="jpy"
        ),
        DoctorFactory(
            user=UserFactory(role="doctor", first_name="Eleanor", last_name="Fairweather-Montgomery"),
            fee_amount=7500,
            fee_currency="gbp",
        ),
    ]
    a_year_of_money(doctors, now=timezone.now())

    log_in(page, base, billing.email, path="/admin/login/")
    page.get_by_role("link", name="Money dashboard").click()
    expect(page.get_by_role("heading", name="Revenue per month")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Net revenue per month in JPY"))).to_be_visible()
    audit.check("money dashboard")
    screenshot("money-dashboard-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    audit.check("money dashboard at 390 px")
    screenshot("money-dashboard-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_label("Doctor", exact=True).select_option(label="Dr Kenji Tanaka")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".dashboard-scope")).to_contain_text("Dr Kenji Tanaka")
    expect(page.get_by_role("img", name=re.compile("in USD"))).to_have_count(0)
    audit.check("money dashboard, one doctor")
    page.get_by_label("From", exact=True).fill("2026-05-01")
    page.get_by_label("To", exact=True).fill("2026-04-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("“From” must be on or before “To”.")).to_be_visible()
    audit.check("money dashboard, a bad range")
    audit.assert_clean()


def test_doctor_pages(live_server, page, audit, portal_doctor):
    base = live_server.url
    log_in(page, base, portal_doctor.user.email, password=DEMO_PASSWORD)

    expect(page.get_by_role("heading", name=re.compile(r"day|\d{4}"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Complete visit"))).to_be_visible()
    audit.check("doctor's day (home after log-in)")
    page.locator("a[rel=next]").click()
    audit.check("doctor's next day")
    page.goto(f"{base}/portal/week/")
    expect(page.get_by_text("No visits").first).to_be_visible()
    audit.check("doctor's week")
    page.goto(f"{base}/portal/appointments/")
    audit.check("doctor's upcoming appointments")
    page.goto(f"{base}/portal/appointments/?when=past&sort=patient")
    audit.check("doctor's past appointments")
    page.goto(f"{base}/portal/appointments/?from_day=not-a-date&status=lost")
    expect(page.get_by_text("Enter a valid date.")).to_be_visible()
    audit.check("doctor's appointments, bad filters")
    page.goto(f"{base}/portal/appointments/?patient=nobody")
    expect(page.get_by_text("No appointments match these filters")).to_be_visible()
    audit.check("doctor's appointments, no match")
    page.goto(f"{base}/portal/schedule/")
    audit.check("working hours and time off")
    today_in_tokyo = timefmt.local(timezone.now(), portal_doctor.timezone).date().isoformat()
    page.get_by_label("First day").fill(today_in_tokyo)
    page.get_by_label("Last day").fill(today_in_tokyo)
    page.get_by_role("button", name="Add time off").click()
    expect(page.get_by_text("This time off covers booked visits")).to_be_visible()
    audit.check("time off refused over booked visits")
    page.get_by_label("Until", exact=True).first.fill("08:00")
    page.get_by_label("From", exact=True).first.fill("10:00")
    page.get_by_role("button", name="Add hours").click()
    expect(page.get_by_text("The end time must be after the start time.")).to_be_visible()
    audit.check("working hours with errors")
    page.goto(f"{base}/accounts/profile/")
    audit.check("doctor's profile")
    audit.assert_clean()


def test_calendar_and_video_pages(live_server, page, audit, settings):
    """The doctor's calendar feed page in each of its states, and a video visit's page with its
    link still to come and open (the video server's address never resolves: it is only linked)."""
    settings.VIDEO_BASE_URL = "https://video.hospital.invalid"
    doctor = DoctorFactory(visit_type=VisitType.VIDEO, timezone="Asia/Tokyo")
    patient = PatientFactory(email="pat@example.com")
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=5)
    open_now = visit(patient=patient, doctor=doctor, starts_at=soon)
    later = visit(patient=patient, doctor=doctor, starts_at=soon + dt.timedelta(days=1))

    log_in(page, live_server.url, doctor.user.email)
    page.goto(f"{live_server.url}/appointments/calendar-feed/")
    audit.check("calendar feed, off")
    page.get_by_role("button", name="Make my feed address").click()
    expect(page.get_by_label("Feed address")).to_be_visible()
    page.get_by_text("How to add it to a calendar app").click()
    audit.check("calendar feed, new address shown")
    page.goto(f"{live_server.url}/appointments/calendar-feed/")
    audit.check("calendar feed, on")
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server.url, patient.email)
    page.goto(f"{live_server.url}/appointments/{later.pk}/")
    expect(page.get_by_text("The link to join appears here from")).to_be_visible()
    audit.check("appointment detail, video link to come")
    page.goto(f"{live_server.url}/appointments/{open_now.pk}/")
    expect(page.get_by_role("link", name="Join the video call")).to_be_visible()
    audit.check("appointment detail, video link open")
    audit.assert_clean()


def test_doctors_appointment_page(live_server, page, audit, screenshot, bookable_doctor):
    """The doctor's appointment page as the visit goes: confirmed (Start offered), in progress with
    a draft note, completed with its signed note and an addendum. Screenshots at desktop and phone
    widths of each."""
    base = live_server.url
    doctor = bookable_doctor.user
    patient = PatientFactory(first_name="Pat", last_name="Patel")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    a_month_ago = now - dt.timedelta(days=30)
    earlier = visit(status="in_progress", doctor=bookable_doctor, patient=patient, starts_at=a_month_ago)
    appointment_complete(appointment_id=earlier.pk, doctor=doctor, note_text="Mild exertional chest tightness.")
    visit_note_add_addendum(appointment_id=earlier.pk, doctor=doctor, text="ECG normal on review.")
    today = visit(
        doctor=bookable_doctor,
        patient=patient,
        starts_at=now + dt.timedelta(minutes=10),
        reason="Chest tightness when running, worse in the cold.",
    )

    def both_widths(name: str) -> None:
        screenshot(f"doctor-{name}")
        page.set_viewport_size({"width": 390, "height": 844})
        screenshot(f"doctor-{name}-phone")
        page.set_viewport_size({"width": 1280, "height": 900})

    log_in(page, base, doctor.email)
    page.goto(f"{base}/appointments/{today.pk}/")
    expect(page.get_by_role("heading", name="Pat Patel")).to_be_visible()
    audit.check("doctor's appointment page, confirmed")
    both_widths("appointment-confirmed")

    page.get_by_role("button", name="Start visit").click()
    expect(page.get_by_role("heading", name="Visit in progress")).to_be_visible()
    page.get_by_role("textbox", name="Draft note").fill("Chest clear on auscultation. BP 128/82.\nPlan: exercise ECG.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft note saved.")).to_be_visible()
    audit.check("doctor's appointment page, in progress with a draft note")
    both_widths("appointment-in-progress")

    page.get_by_role("button", name="Sign note and complete visit").click()
    expect(page.get_by_role("heading", name="Visit completed")).to_be_visible()
    page.get_by_role("textbox", name="New addendum").fill("Correction: BP 118/82.")
    page.get_by_role("button", name="Sign and add addendum").click()
    expect(page.get_by_text("Correction: BP 118/82.")).to_be_visible()
    audit.check("doctor's appointment page, completed with an addendum")
    both_widths("appointment-completed")

    page.goto(f"{base}/appointments/{earlier.pk}/")
    audit.check("doctor's appointment page, an earlier visit")
    audit.assert_clean()


# -- keyboard only ------------------------------------------------------------------------------

# The focused element, how its focus shows, and the colour behind it (the nearest opaque
# background up the tree), so the indicator's contrast can be checked (WCAG 2.4.7, 1.4.11).
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  let behind = el.parentElement, background = "rgb(255, 255, 255)";
  for (; behind; behind = behind.parentElement) {
    const colour = getComputedStyle(behind).backgroundColor;
    if (colour !== "transparent" && !colour.endsWith(", 0)")) { background = colour; break; }
  }
  return {
    name: `${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.name || "").trim().slice(0, 40)}"`,
    outline: style.outlineStyle === "none" ? null : {width: parseFloat(style.outlineWidth), colour: style.outlineColor},
    boxShadow: style.boxShadow === "none" ? null : style.boxShadow,
    background,
  };
}"""


def _rgba(colour: str) -> tuple[float, float, float, float]:
    parts = [float(part) for part in re.findall(r"[\d.]+", colour)]
    return (*parts[:3], parts[3] if len(parts) > 3 else 1.0)


def _contrast(colour: str, background: str) -> float:
    """WCAG contrast of `colour`, laid over the opaque `background`."""
    *under, _ = _rgba(background)
    *over, alpha = _rgba(colour)
    seen = [alpha * c + (1 - alpha) * b for c, b in zip(over, under, strict=True)]

    def luminance(rgb) -> float:
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted([luminance(seen), luminance(under)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


class Keyboard:
    """Moves through a page with Tab and Shift+Tab only, checking that every stop shows its focus."""

    def __init__(self, page):
        self.page = page
        self.unseen_focus: list[str] = []

    def _check_focus(self) -> None:
        focused = self.page.evaluate(FOCUSED)
        outline = focused["outline"]
        if outline and outline["width"] >= 2 and _contrast(outline["colour"], focused["background"]) >= 3:
            return
        if focused["boxShadow"] and not outline:
            return
        self.unseen_focus.append(f"{self.page.url}: {focused['name']} outline={outline} on {focused['background']}")

    def tab_to(self, target, *, backwards: bool = False, presses: int = 60) -> None:
        key = "Shift+Tab" if backwards else "Tab"
        for _ in range(presses):
            if target.evaluate("element => element === document.activeElement"):
                return
            self.page.keyboard.press(key)
            self._check_focus()
        raise AssertionError(f"{presses} presses of {key} never reached {target}")

    def next_field(self, target, text: str) -> None:
        """Tab once to `target` and type."""
        self.page.keyboard.press("Tab")
        expect(target).to_be_focused()
        self._check_focus()
        self.page.keyboard.type(text)


def test_a_patient_books_and_pays_with_the_keyboard_alone(
    live_server, page, audit, bookable_doctor, stripe_delivering_to
):
    patient = PatientFactory(email="pat@example.com", first_name="Pat")
    keys = Keyboard(page)

    page.goto(f"{live_server.url}/doctors/{bookable_doctor.pk}/")
    keys.tab_to(page.locator("a.slot-chip").first)
    page.keyboard.press("Enter")

    # Log in: the e-mail field has the focus already; the password's Enter submits.
    expect(page.get_by_text("Log in to book Dr Amara Okafor")).to_be_visible()
    email = page.get_by_label("E-mail address")
    keys.tab_to(email)
    page.keyboard.type(patient.email)
    keys.next_field(page.get_by_label("Password"), TEST_PASSWORD)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Confirm and pay")).to_be_visible()
    keys.tab_to(page.get_by_role("button", name="Continue to payment"))
    keys.tab_to(page.get_by_label("Reason for visit"), backwards=True)
    page.keyboard.type("Chest tightness when running")
    keys.tab_to(page.get_by_role("button", name="Continue to payment"))
    page.keyboard.press("Enter")

    # Stripe's hosted page (the stand-in).
    expect(page.get_by_role("heading", name="Pay with card")).to_be_visible()
    keys.tab_to(page.get_by_label("Card number"))
    page.keyboard.type("4242 4242 4242 4242")
    keys.next_field(page.get_by_label("Expiry (MM / YY)"), "12 / 34")
    keys.next_field(page.get_by_label("CVC"), "123")
    keys.next_field(page.get_by_label("Name on card"), "Pat Patel")
    keys.tab_to(page.get_by_role("button", name="Pay"))
    page.keyboard.press("Space")

    # Back on the site, confirmed.
    expect(page.get_by_role("heading", name="You're booked")).to_be_visible()
    expect(page.locator(".badge", has_text="Confirmed")).to_be_visible()
    expect(page.get_by_text("Payment received.")).to_be_visible()
    audit.check("appointment confirmed, with its message")
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert appointment.reason == "Chest tightness when running"
    wait_for(lambda: _appointment_status(appointment) == (AppointmentStatus.CONFIRMED, PaymentStatus.PAID))
    audit.assert_clean()
    assert not keys.unseen_focus, "focus not visible (no outline of 2px and 3:1, nor a box-shadow):\n" + "\n".join(
        keys.unseen_focus
    )


def test_prescription_pages(live_server, page, audit):
    """The doctor's write page (empty, with a row added, with errors, refused), the prescription
    and the lists for doctor and patient, and the public verification page with each answer."""
    base = live_server.url
    doctor = DoctorFactory(user=UserFactory(first_name="Amara", last_name="Okafor", role="doctor"))
    patient = PatientFactory(email="pat@example.com", first_name="Pat")
    appointment = visit(status="completed", doctor=doctor, patient=patient)
    not_ready = visit(status="in_progress", doctor=doctor)

    log_in(page, base, doctor.user.email)
    page.goto(f"{base}/prescriptions/")
    audit.check("prescriptions, doctor, none yet")
    page.goto(f"{base}/prescriptions/visit/{appointment.pk}/write/")
    audit.check("write a prescription")
    page.get_by_role("button", name="Add another item").click()
    audit.check("write a prescription, a row added")
    page.get_by_role("button", name="Issue prescription").click()
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check("write a prescription, with errors")
    row = page.get_by_role("group", name="Medicine 1")
    for label, value in [("Medicine", "Amoxicillin"), ("Dose", "1 capsule"), ("How often", "3 times a day"),
                         ("For how long", "7 days"), ("Quantity", "21")]:  # fmt: skip
        row.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Issue prescription").click()
    prescription = Prescription.objects.get()
    expect(page.get_by_role("heading", name=prescription.number)).to_be_visible()
    audit.check("prescription, doctor, just issued")
    page.goto(f"{base}/prescriptions/{prescription.pk}/correct/")
    audit.check("correct a prescription")
    page.goto(f"{base}/prescriptions/visit/{not_ready.pk}/write/")
    expect(page.get_by_role("heading", name="No prescription can be written for this visit")).to_be_visible()
    audit.check("write a prescription, refused")
    page.goto(f"{base}/prescriptions/")
    audit.check("prescriptions, doctor")

    page.context.clear_cookies()
    log_in(page, base, patient.email)
    page.goto(f"{base}/prescriptions/")
    audit.check("prescriptions, patient")
    page.goto(f"{base}/prescriptions/{prescription.pk}/")
    audit.check("prescription, patient")
    correction = prescription_issue(
        doctor_user=doctor.user, appointment_id=appointment.pk, items=[{**AMOXICILLIN, "quantity": 15}],
        general_advice="", follow_up_on=None, supersedes_id=prescription.pk, ip=None,
    )  # fmt: skip
    page.reload()
    expect(page.get_by_role("heading", name="Replaced by a correction")).to_be_visible()
    audit.check("prescription, patient, superseded")

    page.context.clear_cookies()
    page.goto(f"{base}/prescriptions/verify/")
    audit.check("verify a prescription")
    for number, code, verdict in [
        (correction.number, correction.verification_code, "Valid"),
        (prescription.number, prescription.verification_code, "Superseded"),
        (prescription.number, "0000-0000-0000", "Unknown"),
    ]:
        page.get_by_label("Prescription number").fill(number)
        page.get_by_label("Verification code").fill(code)
        page.get_by_role("button", name="Check").click()
        expect(page.get_by_role("heading", name=verdict, exact=True)).to_be_visible()
        audit.check(f"verify a prescription, {verdict.lower()}")
    page.get_by_label("Prescription number").fill("RX-?")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check("verify a prescription, bad input")
    audit.assert_clean()
