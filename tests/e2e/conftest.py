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
