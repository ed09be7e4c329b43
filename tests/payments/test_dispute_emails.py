"""Billing staff hear of a dispute once when it opens and once when it closes, however often Stripe
tells either; its deadline for evidence is recorded and shown on the hospital's clock."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.models import StaffGroup
from appointments.models import Appointment
from hospital.models import OutboundEmail
from payments.models import Dispute, UnusableEvent
from tests.factories import StaffFactory
from tests.payments import handmade
from tests.payments.flows import with_repeats

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]

DUE = dt.datetime(2026, 7, 1, 22, 59, 59, tzinfo=dt.UTC)  # 23:59:59 BST in London


def staff_in(group: StaffGroup, email: str):
    user = StaffFactory(is_superuser=False, email=email)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_a_dispute_opened_and_closed_e_mails_billing_once_each_whatever_the_redeliveries(standin, client, settings):
    settings.HOSPITAL_TIME_ZONE = "Europe/London"
    staff_in(StaffGroup.BILLING, "billing@example.com")
    staff_in(StaffGroup.FRONT_DESK, "desk@example.com")
    flow = handmade.paid_flow(standin, client)
    Appointment.objects.filter(pk=flow.appointment.pk).update(reason="Chest pain at night")
    dispute = handmade.dispute(flow, evidence_details={"due_by": int(DUE.timestamp()), "has_evidence": False})

    flow.deliver(with_repeats([handmade.event("charge.dispute.created", dispute)]))

    row = Dispute.objects.get()
    assert row.evidence_due_by == DUE
    opened = OutboundEmail.objects.get(to="billing@example.com")
    payment = flow.appointment.payment
    assert opened.subject == f"Card dispute opened on payment #{payment.pk}: $50.00"
    body = " ".join(opened.body.split())
    assert "The cardholder says they did not make the payment (fraud)" in body
    assert "Evidence is due by: Wed 1 Jul 2026 23:59 BST (Europe/London)" in body
    assert "Chest pain" not in opened.body  # no health data in a money e-mail

    closed = {**dispute, "status": "lost", "evidence_details": {"due_by": None}}
    flow.deliver(with_repeats([handmade.event("charge.dispute.closed", closed)]))

    sent = OutboundEmail.objects.filter(to="billing@example.com").order_by("pk")
    assert [email.subject.split(" on ")[0] for email in sent] == ["Card dispute opened", "Card dispute closed"]
    assert "Outcome: Lost" in sent.last().body
    assert not OutboundEmail.objects.filter(to="desk@example.com").exists()
    row.refresh_from_db()
    assert row.evidence_due_by == DUE  # a closed dispute's null deadline does not erase the one there was


def test_a_dispute_first_heard_of_closed_sends_the_closing_e_mail_alone(standin, client):
    staff_in(StaffGroup.BILLING, "billing@example.com")
    flow = handmade.paid_flow(standin, client)
    dispute = handmade.dispute(flow, status="won", evidence_details={"due_by": None})

    flow.deliver([handmade.event("charge.dispute.closed", dispute),
                  handmade.event("charge.dispute.created", {**dispute, "status": "needs_response"})])  # fmt: skip

    [email] = OutboundEmail.objects.filter(to="billing@example.com")
    assert email.subject.startswith("Card dispute closed") and "Outcome: Won" in email.body
    assert Dispute.objects.get().evidence_due_by is None


def test_a_deadline_that_is_no_timestamp_is_recorded_for_staff(standin, client):
    flow = handmade.paid_flow(standin, client)
    dispute = handmade.dispute(flow, evidence_details={"due_by": "soon"})

    flow.deliver([handmade.event("charge.dispute.created", dispute)])

    assert not Dispute.objects.exists()
    assert "evidence_details.due_by='soon' is not a timestamp" in UnusableEvent.objects.get().reason


def test_the_payment_page_and_the_staff_panel_show_the_dispute_its_reason_and_deadline(standin, client, settings):
    settings.HOSPITAL_TIME_ZONE = "Europe/London"
    flow = handmade.paid_flow(standin, client)
    dispute = handmade.dispute(flow, reason="product_not_received", evidence_details={"due_by": int(DUE.timestamp())})
    flow.deliver([handmade.event("charge.dispute.created", dispute)])
    billing = Client()
    billing.force_login(staff_in(StaffGroup.BILLING, "billing@example.com"))
    payment = flow.appointment.payment

    for url in (reverse("admin:payments_payment_change", args=[payment.pk]),
                reverse("appointments:detail", args=[payment.appointment_id])):  # fmt: skip
        page = " ".join(billing.get(url).content.decode().split())
        assert "The patient says the service was not provided" in page, url
        assert "Wed 1 Jul 2026 23:59 BST (Europe/London)" in page, url
