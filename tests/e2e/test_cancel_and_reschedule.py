"""A patient cancels a paid visit inside the full-refund window and sees the refund come back; a
patient moves a visit with the keyboard alone; the doctor's time off over visits. Every page is
audited with axe and screenshot at 1280 px (test-artifacts/e2e/)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentStatus
from payments.models import Payment, Refund, RefundStatus
from tests.e2e.test_accessibility import AxeAudit, log_in
from tests.factories import SlotFactory, visit
from tests.payments import handmade
from tests.payments.flows import run_tasks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def audit(page):
    return AxeAudit(page)


def test_a_patient_cancels_inside_the_full_refund_window_and_sees_the_refund(
    live_server, page, audit, screenshot, standin, client, webhook_endpoint
):
    flow = handmade.paid_flow(standin, client)  # three days ahead, paid at the stand-in
    appointment = flow.refresh()
    log_in(page, live_server.url, appointment.patient.email)

    page.goto(f"{live_server.url}/appointments/{appointment.pk}/")
    page.get_by_role("link", name="Cancel appointment").click()
    expect(page.get_by_role("heading", name="Cancellation policy")).to_be_visible()
    expect(page.get_by_text("If you cancel now, $50.00 comes back to your card")).to_be_visible()
    audit.check("cancel")
    screenshot("cancel-page-desktop")

    page.get_by_role("button", name="Cancel and refund $50.00").click()
    expect(page.get_by_role("heading", name="This booking was canceled")).to_be_visible()
    expect(page.get_by_text("Refund of $50.00: pending")).to_be_visible()
    audit.check("canceled, refund pending")

    run_tasks()  # the refund worker issues it at the stand-in
    assert Refund.objects.get(payment__appointment=appointment).status == RefundStatus.SUCCEEDED
    page.reload()
    expect(page.get_by_text("Refund of $50.00: refunded")).to_be_visible()
    screenshot("canceled-refunded-desktop")
    audit.assert_clean()


def test_a_patient_moves_a_visit_with_the_keyboard(live_server, page, audit, screenshot):
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=3)
    appointment = visit(starts_at=start)
    doctor = appointment.doctor
    for hours in (24, 25, 48):
        SlotFactory(doctor=doctor, starts_at=start + dt.timedelta(hours=hours))
    target = start + dt.timedelta(hours=25)
    clock = Payment.objects.get(appointment=appointment).refund_clock_at
    log_in(page, live_server.url, appointment.patient.email)

    page.goto(f"{live_server.url}/appointments/{appointment.pk}/")
    page.get_by_role("link", name="Move to another time").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Choose a new time with {doctor.display_name}")).to_be_visible()
    audit.check("reschedule")
    screenshot("reschedule-page-desktop")

    label = f"{target.astimezone(doctor.zone):%H:%M}"
    first_radio = page.get_by_role("radio").first
    first_radio.focus()
    page.keyboard.press("Space")
    for _ in range(2):  # the free times after the first in this day, and the next day's
        if page.get_by_role("radio", checked=True).locator("xpath=..").inner_text().startswith(label):
            break
        page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", checked=True).locator("xpath=..")).to_contain_text(label)
    page.keyboard.press("Tab")  # to the button
    page.keyboard.press("Enter")

    expect(page.get_by_text("Your appointment has moved.")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.slot.starts_at == target
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert Payment.objects.get(appointment=appointment).refund_clock_at == clock
    audit.assert_clean()


def test_the_doctor_adds_time_off_over_visits_and_moves_them(live_server, page, audit, screenshot):
    day = timezone.localtime(timezone.now(), dt.UTC).date() + dt.timedelta(days=4)
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    appointment = visit(starts_at=noon)
    doctor = appointment.doctor
    SlotFactory(doctor=doctor, starts_at=noon + dt.timedelta(days=1))
    log_in(page, live_server.url, doctor.user.email)

    page.goto(f"{live_server.url}/portal/schedule/")
    page.get_by_label("First day").fill(day.isoformat())
    page.get_by_label("Last day").fill(day.isoformat())
    page.get_by_role("button", name="Add time off").click()
    expect(page.get_by_text("1 confirmed visit in this time off")).to_be_visible()
    page.get_by_label("Move each visit to my earliest free time after the time off").check()
    page.get_by_label("Message to the patients").fill("I am at a conference that day.")
    audit.check("time off over visits")
    screenshot("time-off-visits-desktop")
    page.get_by_role("button", name="Add time off and resolve these visits").click()

    expect(page.get_by_text("Its visits have moved to your next free times")).to_be_visible()
    assert Appointment.objects.get(pk=appointment.pk).slot.starts_at == noon + dt.timedelta(days=1)
    audit.assert_clean()
