"""Receipts and credit notes in the admin: read-only lists billing staff search by the number as
printed; and the demo's paid visits have theirs, numbered by the service."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import StaffGroup
from accounts.staff_groups import staff_groups_apply
from payments.models import CreditNote, Payment, Receipt
from tests.factories import StaffFactory
from tests.payments.test_receipt_pages import paid_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing_client(client):
    staff_groups_apply()
    user = StaffFactory(is_superuser=False)
    user.groups.add(Group.objects.get(name=StaffGroup.BILLING))
    client.force_login(user)
    return client


def test_billing_staff_find_a_receipt_and_a_credit_note_by_their_printed_numbers(billing_client):
    payments = [paid_visit(refunded=1000) for _ in range(3)]
    second = payments[1]

    for term in ("R-2026-000002", "2026-2", "2"):
        page = billing_client.get("/admin/payments/receipt/", {"q": term}).content.decode()
        assert "R-2026-000002" in page, term
        assert "R-2026-000001" not in page and "R-2026-000003" not in page, term
    page = billing_client.get("/admin/payments/receipt/", {"q": second.appointment.patient.email}).content.decode()
    assert "R-2026-000002" in page and "R-2026-000001" not in page

    page = billing_client.get("/admin/payments/creditnote/", {"q": "CN-2026-000003"}).content.decode()
    assert "CN-2026-000003" in page and "R-2026-000003" in page  # the receipt it credits
    assert "CN-2026-000001" not in page
    note = CreditNote.objects.get(number=3)
    assert billing_client.get(f"/admin/payments/creditnote/{note.pk}/change/").status_code == 200


def test_the_documents_are_read_only_and_front_desk_does_not_see_them(billing_client, client):
    receipt = paid_visit().receipt
    assert billing_client.get("/admin/payments/receipt/add/").status_code == 403
    assert billing_client.post(f"/admin/payments/receipt/{receipt.pk}/change/", {"amount": 1}).status_code == 403
    assert billing_client.post(f"/admin/payments/receipt/{receipt.pk}/delete/", {"post": "yes"}).status_code == 403
    receipt.refresh_from_db()
    assert receipt.amount == 5000

    front_desk = StaffFactory(is_superuser=False)
    front_desk.groups.add(Group.objects.get(name=StaffGroup.FRONT_DESK))
    client.force_login(front_desk)
    assert client.get("/admin/payments/receipt/").status_code == 403


def test_the_demos_paid_visits_have_receipts_numbered_without_a_gap():
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent: no second receipt

    paid = Payment.objects.filter(captured_amount__gt=0)
    assert paid.exists()
    assert Receipt.objects.count() == paid.count()
    assert not paid.filter(receipt__isnull=True).exists()
    for year in set(Receipt.objects.values_list("year", flat=True)):
        numbers = sorted(Receipt.objects.filter(year=year).values_list("number", flat=True))
        assert numbers == list(range(1, len(numbers) + 1))
