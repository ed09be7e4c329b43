"""Billing staff refund part of a paid visit in the admin, in a real browser, and watch it go from
"Refund pending" to refunded as the worker issues it at the Stripe stand-in and its events come
back. Screenshots (test-artifacts/e2e/) of the admin's refund form and the staff money panel."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from playwright.sync_api import expect

from accounts.models import StaffGroup
from payments.models import Payment, PaymentStatus
from tests.e2e.helpers import wait_for
from tests.e2e.test_accessibility import AxeAudit, log_in
from tests.factories import SlotFactory, StaffFactory
from tests.payments.flows import Flow, run_tasks

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_billing_staff_refund_part_of_a_payment_and_see_it_pending_then_refunded(
    live_server, page, screenshot, stripe_delivering_to, bookable_doctor
):
    audit = AxeAudit(page)
    billing = StaffFactory(is_superuser=False, email="billing@example.com", first_name="Bea", last_name="Quinn")
    billing.groups.add(Group.objects.get(name=StaffGroup.BILLING))
    slot = SlotFactory(doctor=bookable_doctor)
    flow = Flow(stripe_delivering_to, Client(), slot=slot)
    flow.pay()
    wait_for(lambda: Payment.objects.get(appointment=flow.appointment).status == PaymentStatus.PAID)
    payment = Payment.objects.get(appointment=flow.appointment)
    base = live_server.url

    log_in(page, base, billing.email, path="/admin/login/")
    page.goto(f"{base}/admin/payments/payment/")
    page.locator(f'input[name="_selected_action"][value="{payment.pk}"]').check()
    page.locator("select[name=action]").select_option(label="Refund…")
    page.get_by_role("button", name="Go").click()

    expect(page.get_by_role("heading", name=f"Refund payment #{payment.pk}")).to_be_visible()
    expect(page.get_by_text("left to refund: £65.00")).to_be_visible()
    page.get_by_label("Amount to refund").fill("20.005")
    page.get_by_label("Reason").fill("Clinic ran an hour late; agreed with the patient by phone.")
    page.get_by_role("button", name="Refund").click()
    expect(page.get_by_text("Pound sterling has 2 decimal places: 20.005 has more.")).to_be_visible()
    audit.check("admin refund form with an error")
    page.get_by_label("Amount to refund").fill("20.00")
    screenshot("admin-refund-form")
    page.get_by_role("button", name="Refund").click()

    expect(page.get_by_text(re.compile(r"Refund of £20\.00 on payment #\d+ requested"))).to_be_visible()
    expect(page.get_by_text("Requested (not yet at Stripe)")).to_be_visible()
    page.goto(f"{base}/appointments/{payment.appointment_id}/")
    panel = page.locator("#money")
    expect(panel.get_by_text("Refund pending").first).to_be_visible()
    expect(panel.get_by_text("Clinic ran an hour late")).to_be_visible()
    expect(panel.get_by_text("Bea Quinn")).to_be_visible()
    audit.check("staff money panel, refund pending")
    screenshot("staff-money-panel-pending")

    run_tasks()  # the refund worker issues it at the stand-in, which posts its events back
    wait_for(lambda: Payment.objects.get(pk=payment.pk).status == PaymentStatus.PARTIALLY_REFUNDED)

    page.reload()
    expect(panel.get_by_text("Partially refunded")).to_be_visible()
    expect(panel.get_by_text("Refunded", exact=True)).to_be_visible()
    expect(panel.get_by_text("Refund pending")).to_have_count(0)
    expect(panel.get_by_text("£45.00", exact=True)).to_be_visible()  # left to refund
    panel.get_by_text("Refund part or all of it").click()
    audit.check("staff money panel, refunded")
    screenshot("staff-money-panel")
    page.goto(f"{base}/admin/payments/payment/{payment.pk}/change/")
    expect(page.get_by_text("Succeeded")).to_be_visible()
    audit.check("admin payment page")
    page.goto(f"{base}/admin/payments/payment/?q=%23{payment.appointment_id}")
    expect(page.get_by_text("By visit date")).to_be_visible()
    audit.check("admin payments list, searched by booking number")
    page.goto(f"{base}/admin/appointments/appointment/{payment.appointment_id}/cancel/")
    page.get_by_role("button", name="Cancel and refund in full").click()
    expect(page.get_by_text("Please say why, for the patient")).to_be_visible()
    audit.check("admin cancel form with an error")
    screenshot("admin-cancel-form")
    audit.assert_clean()
