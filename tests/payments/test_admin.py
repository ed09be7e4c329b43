import re

import pytest

from appointments.models import AppointmentStatus as A
from payments.models import Refund, RefundReason, RefundStatus
from tests.payments.flows import Flow

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def test_staff_see_a_payment_with_its_facts_and_links_to_the_synced_stripe_objects(standin, client, staff_client):
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    payment = flow.refresh().payment

    page = staff_client.get(f"/admin/payments/payment/{payment.pk}/change/").content.decode()

    assert "Paid" in page
    assert flow.session_id in page
    assert flow.payment_intent_id in page
    assert "/admin/djstripe/session/" in page
    assert staff_client.get("/admin/payments/payment/?status__exact=paid").status_code == 200
    assert staff_client.get(f"/admin/appointments/appointment/{payment.appointment_id}/change/").status_code == 200


def test_money_rows_are_read_only_in_the_admin(standin, client, staff_client):
    flow = Flow(standin, client)
    payment = flow.appointment.payment
    assert staff_client.post(f"/admin/payments/payment/{payment.pk}/change/", {"captured_amount": 1}).status_code == 403
    assert staff_client.get("/admin/payments/refund/add/").status_code == 403
    assert flow.refresh().status == A.PENDING_PAYMENT


def test_retry_now_requeues_only_refunds_still_waiting_to_be_issued(standin, client, staff_client):
    from django_tasks_db.models import DBTaskResult

    flow = Flow(standin, client)
    payment = flow.appointment.payment
    waiting = Refund.objects.create(
        payment=payment, payment_intent_id="pi_x", amount=100, currency="usd", reason=RefundReason.LATE_PAYMENT
    )
    done = Refund.objects.create(
        payment=payment,
        payment_intent_id="pi_y",
        amount=100,
        currency="usd",
        reason=RefundReason.STRIPE,
        status=RefundStatus.SUCCEEDED,
    )
    response = staff_client.post(
        "/admin/payments/refund/",
        {"action": "retry_now", "_selected_action": [waiting.pk, done.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Queued 1 refund(s) for another attempt." in page
    assert "1 refund(s) were not waiting to be issued" in page
    assert DBTaskResult.objects.filter(args_kwargs__args=[waiting.pk]).count() == 1


def test_refunds_on_a_payment_read_as_money_not_minor_units(standin, client, staff_client):
    flow = Flow(standin, client)
    payment = flow.appointment.payment
    Refund.objects.create(
        payment=payment, payment_intent_id="pi_x", amount=2550, currency="usd", reason=RefundReason.LATE_PAYMENT
    )

    page = staff_client.get(f"/admin/payments/payment/{payment.pk}/change/").content.decode()

    assert re.search(r'<td class="field-amount_display">\s*<p>\$25\.50</p>', page)
    assert "2550" not in page


def test_staff_read_the_charge_refund_listings_and_cannot_change_them(staff_client):
    from django.utils import timezone

    from payments.models import ChargeRefundsSync

    listing = ChargeRefundsSync.objects.create(payment_intent_id="pi_listed_once", requested_at=timezone.now())

    page = staff_client.get("/admin/payments/chargerefundssync/")
    assert page.status_code == 200 and "pi_listed_once" in page.content.decode()
    assert staff_client.get("/admin/payments/chargerefundssync/add/").status_code == 403
    assert staff_client.post(f"/admin/payments/chargerefundssync/{listing.pk}/delete/").status_code == 403
