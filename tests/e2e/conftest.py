import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.browser import launch_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"

# Playwright's sync API runs an event loop in the test thread; the test thread's own ORM use
# (creating data, reading results) is still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def stripe_delivering_to(live_server, standin):
    """The stand-in posts its events to the live server, as Stripe would."""
    from payments.webhooks import webhook_endpoint_ensure, webhook_url_path

    webhook_endpoint_ensure(base_url=live_server.url)
    standin.control("config", withhold=False, webhook_url=live_server.url + webhook_url_path())
    yield standin
    # Nothing in flight when the test's tables are flushed: on PostgreSQL a delivery still
    # writing would deadlock with the flush's TRUNCATE.
    standin.process.wait_idle()


@pytest.fixture
def bookable_doctor(db):
    """Dr Amara Okafor, cardiologist in London at £65: free 09:00-12:00 every day for a week."""
    import datetime as dt

    from hospital.services import slots_generate
    from tests.factories import DoctorFactory, SpecialtyFactory, UserFactory, WorkingHoursFactory

    doctor = DoctorFactory(
        user=UserFactory(first_name="Amara", last_name="Okafor", role="doctor"),
        specialty=SpecialtyFactory(name="Cardiology"),
        timezone="Europe/London",
        fee_amount=6500,
        fee_currency="gbp",
    )
    for weekday in range(7):
        WorkingHoursFactory(doctor=doctor, weekday=weekday, start_time=dt.time(9), end_time=dt.time(12))
    slots_generate(doctor=doctor, days=7)
    return doctor


@pytest.fixture
def portal_doctor(db):
    """Dr Hiroshi Tanaka (Tokyo) on the demo data: today's visits as seed_demo leaves them, plus
    visits on other days of his week, a past week's and the next week's, and a day off."""
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    from hospital import timefmt
    from hospital.models import Doctor, TimeOff
    from tests.factories import PatientFactory, visit

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    doctor = Doctor.objects.get(user__email="hiroshi.tanaka@example.com")
    today = timefmt.local(timezone.now(), doctor.timezone).date()
    monday = today - dt.timedelta(days=today.weekday())
    patients = [PatientFactory(first_name=first, last_name=last) for first, last in
                [("Mei", "Suzuki"), ("Omar", "Haddad"), ("Nia", "Patel"), ("Lucas", "Moreau")]]  # fmt: skip

    def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=doctor.zone)

    for offset, hour, status, paid in [(-8, 10, "completed", True), (-7, 11, "no_show", True),
                                       (-6, 9, "canceled", False), (9, 14, "confirmed", True),
                                       (10, 9, "pending_payment", False)]:  # fmt: skip
        visit(doctor=doctor, patient=patients[offset % 4], starts_at=at(today + dt.timedelta(days=offset), hour),
              status=status, paid=paid, reason="Knee pain after a skiing fall in January")  # fmt: skip
    for offset in range(7):
        day = monday + dt.timedelta(days=offset)
        if day != today and offset % 3 != 2:
            visit(doctor=doctor, patient=patients[offset % 4], starts_at=at(day, 9 + offset, 30),
                  status="completed" if day < today else "confirmed")  # fmt: skip
    off = at(today + dt.timedelta(days=14), 0)
    TimeOff.objects.create(
        doctor=doctor, starts_at=off, ends_at=off + dt.timedelta(days=2), reason="Orthopaedics congress"
    )
    return doctor
