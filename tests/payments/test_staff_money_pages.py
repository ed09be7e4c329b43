"""The staff's money tools: the admin's payments list, its "Refund…" form, the appointment admin's
"Cancel and refund in full…", and the money panel on the appointment page. What each group may do,
and bad input changing nothing."""

import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import StaffGroup
from appointments.models import AppointmentStatus as A
from appointments.models import CancelReason
from payments.forms import RefundForm
from payments.models import Payment, Refund, RefundReason, RefundStatus
from payments.services import refund_issue
from tests.factories import StaffFactory, visit
from tests.payments import handmade

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def logged_in(group: StaffGroup) -> tuple[Client, object]:
    user = StaffFactory(is_superuser=False, first_name="Bea", last_name="Billing")
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client, user


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def paid_payment() -> Payment:
    appointment = visit()
    Payment.objects.filter(appointment=appointment).update(payment_intent_id=f"pi_paid_{appointment.pk}")
    return Payment.objects.get(appointment=appointment)


def refund_url(payment) -> str:
    return reverse("admin:payments_payment_refund", args=[payment.pk])


# -- the admin's payments list ----------------------------------------------------------------


def test_billing_find_a_payment_by_patient_booking_number_or_payment_intent_and_filter_it():
    client, _ = logged_in(StaffGroup.BILLING)
    payment = paid_payment()
    other = paid_payment()
    patient = payment.appointment.patient
    listing = reverse("admin:payments_payment_changelist")

    for term in (patient.email, patient.last_name, f"#{payment.appointment_id}", str(payment.appointment_id),
                 payment.payment_intent_id):  # fmt: skip
        page = client.get(listing, {"q": term}).content.decode()
        assert f"/admin/payments/payment/{payment.pk}/change/" in page, term
    page = client.get(listing, {"q": "#not-a-number"})
    assert page.status_code == 200
    doctor_filtered = client.get(listing, {"appointment__doctor__id__exact": other.appointment.doctor_id}).content
    assert f"/admin/payments/payment/{other.pk}/change/".encode() in doctor_filtered
    assert f"/admin/payments/payment/{payment.pk}/change/".encode() not in doctor_filtered
    since = "2000-01-01 00:00:00+00:00"
    for query in ({"appointment__slot__starts_at__gte": since}, {"paid_at__gte": since}, {"status__exact": "paid"}):
        assert client.get(listing, query).status_code == 200
    page = text(client.get(listing))
    assert "By doctor" in page and "By visit date" in page and "By payment date" in page


# -- the admin's "Refund…" --------------------------------------------------------------------


def test_the_refund_action_opens_the_form_for_exactly_one_payment():
    client, _ = logged_in(StaffGroup.BILLING)
    payment, other = paid_payment(), paid_payment()
    listing = reverse("admin:payments_payment_changelist")

    one = client.post(listing, {"action": "refund", "_selected_action": [payment.pk]})
    two = client.post(listing, {"action": "refund", "_selected_action": [payment.pk, other.pk]}, follow=True)

    assert one.status_code == 302 and one["Location"] == refund_url(payment)
    assert "Refund one payment at a time" in text(two)
    form = client.get(refund_url(payment))
    assert form.status_code == 200
    assert "left to refund: $50.00" in text(form)


@pytest.mark.parametrize(("amount", "note", "error"), [
    ("50.01", "Too much.", "At most $50.00 is left to refund on this payment."),
    ("10.005", "Too precise.", "US dollar has 2 decimal places: 10.005 has more."),
    ("-5", "Negative.", "Enter an amount above zero."),
    ("0", "Nothing.", "Enter an amount above zero."),
    ("ten", "Words.", "Enter a number."),
    ("10.00", "   ", "Please say why the money is given back."),
])  # fmt: skip
def test_a_refund_form_error_changes_nothing_and_says_why(amount, note, error):
    client, _ = logged_in(StaffGroup.BILLING)
    payment = paid_payment()

    response = client.post(refund_url(payment), {"amount": amount, "note": note})

    assert response.status_code == 400
    assert error in text(response)
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert (payment.status, payment.appointment.status) == ("paid", A.CONFIRMED)


def test_a_refund_from_the_admin_records_who_why_and_reads_pending_until_stripe_reports_it(standin, client):
    flow = handmade.paid_flow(standin, client)
    payment = flow.refresh().payment
    billing, billing_user = logged_in(StaffGroup.BILLING)

    done = billing.post(refund_url(payment), {"amount": "12.50", "note": "Parking refund."}, follow=True)

    assert "Refund of $12.50 on payment" in text(done) and "Refund pending" in text(done)
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.requested_by, refund.note, refund.status) == (
        1250, RefundReason.STAFF, billing_user, "Parking refund.", RefundStatus.REQUESTED,
    )  # fmt: skip
    panel = text(billing.get(reverse("appointments:detail", args=[payment.appointment_id])))
    assert "Refund pending" in panel and "Bea Billing" in panel and "Parking refund." in panel

    refund_issue(refund_id=refund.pk)
    flow.deliver(flow.events())

    panel = text(billing.get(reverse("appointments:detail", args=[payment.appointment_id])))
    assert "Partially refunded" in panel and "Refunded" in panel and "Refund pending" not in panel
    assert "Left to refund $37.50" in panel


def test_zero_decimal_currencies_take_whole_amounts_only():
    form = RefundForm({"amount": "10.5", "note": "Yen."}, currency="jpy", refundable=5000)
    assert not form.is_valid()
    assert form.errors["amount"] == ["Japanese yen has no smaller unit: enter a whole number."]
    form = RefundForm({"amount": "4000", "note": "Yen."}, currency="jpy", refundable=5000)
    assert form.is_valid() and form.cleaned_data["amount"] == 4000
    form = RefundForm({"amount": "12.3", "note": "Pounds."}, currency="gbp", refundable=5000)
    assert form.is_valid() and form.cleaned_data["amount"] == 1230  # typed as money, stored in pence


def test_front_desk_cannot_refund_anywhere():
    client, _ = logged_in(StaffGroup.FRONT_DESK)
    payment = paid_payment()

    assert client.get(refund_url(payment)).status_code == 403
    assert client.post(refund_url(payment), {"amount": "1.00", "note": "Try."}).status_code == 403
    page = client.get(reverse("appointments:detail", args=[payment.appointment_id]))
    assert "Refund part or all of it" not in page.content.decode() and "$50.00" not in text(page)
    response = client.post(
        reverse("appointments:staff_refund", args=[payment.appointment_id]),
        {"amount": "1.00", "note": "Try."},
        follow=True,
    )
    assert "Only billing staff can refund a payment." in text(response)
    assert not Refund.objects.exists()


# -- cancel for the hospital -------------------------------------------------------------------


def test_front_desk_cancel_in_the_admin_with_a_reason_and_the_patient_is_refunded_in_full(standin, client):
    flow = handmade.paid_flow(standin, client)
    desk, desk_user = logged_in(StaffGroup.FRONT_DESK)
    cancel_url = reverse("admin:appointments_appointment_cancel", args=[flow.appointment.pk])
    listing = reverse("admin:appointments_appointment_changelist")

    opened = desk.post(listing, {"action": "cancel_and_refund", "_selected_action": [flow.appointment.pk]})
    assert opened["Location"] == cancel_url
    refused = desk.post(cancel_url, {"note": "  "})
    assert refused.status_code == 400 and "Please say why, for the patient" in text(refused)
    assert flow.refresh().status == A.CONFIRMED

    done = desk.post(cancel_url, {"note": "The doctor is ill today."}, follow=True)

    assert "canceled; the patient is told why. $50.00 is being refunded." in text(done)
    appointment = flow.refresh()
    assert (appointment.status, appointment.cancel_reason) == (A.CANCELED, CancelReason.STAFF)
    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.requested_by) == (5000, RefundReason.STAFF_CANCELED, desk_user)
    again = desk.post(cancel_url, {"note": "Twice."})
    assert "cannot be canceled" in text(again)


def test_staff_cancel_from_the_appointment_page_and_clinical_records_may_not():
    appointment = visit()
    records, _ = logged_in(StaffGroup.CLINICAL_RECORDS)
    url = reverse("appointments:staff_cancel", args=[appointment.pk])

    page = records.get(reverse("appointments:detail", args=[appointment.pk])).content.decode()
    assert "Cancel for the hospital" not in page
    refused = records.post(url, {"note": "No."}, follow=True)
    assert "Your staff group may not cancel appointments" in text(refused)
    assert records.get(reverse("admin:appointments_appointment_cancel", args=[appointment.pk])).status_code == 403

    billing, _ = logged_in(StaffGroup.BILLING)
    empty = billing.post(url, {"note": ""})
    assert empty.status_code == 400 and "Please say why, for the patient" in text(empty)
    done = billing.post(url, {"note": "The clinic floods."}, follow=True)
    assert f"Booking #{appointment.pk} canceled; the patient is told why." in text(done)
    appointment.refresh_from_db()
    assert appointment.status == A.CANCELED


# -- the money panel ---------------------------------------------------------------------------


def test_patients_and_doctors_never_see_the_money_panel(client):
    appointment = paid_payment().appointment
    for user in (appointment.patient, appointment.doctor.user):
        client.force_login(user)
        page = client.get(reverse("appointments:detail", args=[appointment.pk])).content.decode()
        assert "Staff only" not in page and 'id="money"' not in page
    billing, _ = logged_in(StaffGroup.BILLING)
    page = billing.get(reverse("appointments:detail", args=[appointment.pk])).content.decode()
    assert 'id="money"' in page and "Refund part or all of it" in page


def test_the_panel_makes_the_same_queries_with_one_refund_or_five(django_assert_num_queries):
    payment = paid_payment()
    billing, _ = logged_in(StaffGroup.BILLING)
    url = reverse("appointments:detail", args=[payment.appointment_id])

    def refund(amount):
        Refund.objects.create(
            payment=payment, payment_intent_id=payment.payment_intent_id, amount=amount, currency="usd", reason="staff"
        )

    refund(100)
    with CaptureQueriesContext(connection) as one:
        billing.get(url)
    for _ in range(4):
        refund(100)
    with django_assert_num_queries(len(one.captured_queries)):
        billing.get(url)
