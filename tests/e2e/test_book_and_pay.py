"""A patient books and pays in a real browser, through the Stripe stand-in's hosted page, with
the stand-in delivering signed webhooks to the live server."""

import pytest
from djstripe.models import Event
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentStatus
from payments.models import PaymentStatus
from tests.e2e.helpers import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def pay_with(page, card: str) -> None:
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Nia Patel")
    page.get_by_role("button", name="Pay").click()


def test_patient_signs_up_books_pays_after_a_decline_and_sees_confirmed(
    live_server, page, screenshot, stripe_delivering_to, bookable_doctor
):
    doctor = bookable_doctor
    page.goto(f"{live_server.url}/doctors/{doctor.pk}/")
    page.locator(".slot-chip").first.click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("Patel")
    page.get_by_label("E-mail address").fill("nia@example.com")
    page.get_by_label("Date of birth").fill("1990-04-02")
    page.get_by_label("Password", exact=True).fill("a-long-test-password-9")
    page.get_by_label("Repeat password").fill("a-long-test-password-9")
    screenshot("book-01-sign-up")
    page.get_by_role("button", name="Create account").click()

    # Back on the slot the patient picked: the confirm page.
    expect(page.get_by_text("Dr Amara Okafor").first).to_be_visible()
    expect(page.get_by_text("£65.00").first).to_be_visible()
    page.get_by_label("Reason for visit").fill("Chest tightness when running")
    screenshot("book-02-confirm")
    page.get_by_role("button", name="Continue to payment").click()

    # Stripe's hosted page (the stand-in): a declined card first.
    expect(page.get_by_role("heading", name="Pay with card")).to_be_visible()
    screenshot("book-03-checkout")
    pay_with(page, "4000 0000 0000 0002")
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
    screenshot("book-04-declined")

    # Back to the hospital: the failure is shown and the hold can be paid again.
    page.get_by_role("link", name="Back").click()
    appointment = Appointment.objects.get(patient__email="nia@example.com")
    wait_for(lambda: Event.objects.filter(type="payment_intent.payment_failed").exists())
    page.reload()
    expect(page.get_by_text("Your card was declined.").first).to_be_visible()
    screenshot("book-05-declined-back-on-site")
    page.get_by_role("button", name="Resume payment").click()

    pay_with(page, "4242 4242 4242 4242")
    expect(page.get_by_text("Payment received").first).to_be_visible()
    wait_for(lambda: Event.objects.filter(type="checkout.session.completed").exists())
    page.reload()
    expect(page.get_by_text("Confirmed").first).to_be_visible()
    screenshot("book-06-confirmed")

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert appointment.payment.status == PaymentStatus.PAID
    assert appointment.reason == "Chest tightness when running"

    page.goto(f"{live_server.url}/appointments/")
    expect(page.get_by_text("Dr Amara Okafor").first).to_be_visible()
    screenshot("book-07-my-appointments")
