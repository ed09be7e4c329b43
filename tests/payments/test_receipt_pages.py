"""Receipt and credit-note pages and PDFs: only the paying patient and billing staff reach them,
they print money words only (no reason for visit), the visit on the doctor's clock with the zone
named, and the appointment page links them in its payment area."""

import datetime as dt
import io

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse
from pypdf import PdfReader

from accounts.models import StaffGroup
from payments.models import CreditNote, Payment, Refund, RefundReason, RefundStatus
from payments.receipt_documents import receipt_pdf
from payments.services import payment_documents_issue
from tests.factories import DoctorFactory, PatientFactory, StaffFactory, UserFactory, visit

pytestmark = pytest.mark.django_db

ISSUED = dt.datetime(2026, 6, 1, 23, 30, tzinfo=dt.UTC)  # 2 June in Tokyo, 1 June in London
REASON = "Recurring chest pain when climbing stairs"


def issue_documents(payment: Payment, *, now: dt.datetime = ISSUED) -> None:
    with transaction.atomic():
        payment_documents_issue(payment=payment, now=now)


def paid_visit(*, zone: str = "Europe/London", starts_at: dt.datetime | None = None, refunded: int = 0) -> Payment:
    """A paid visit with its receipt, and a credit note for a refund of `refunded` if given."""
    doctor = DoctorFactory(user=UserFactory(first_name="Ana", last_name="Ruiz", role="doctor"), timezone=zone)
    patient = PatientFactory(first_name="Pat", last_name="Lee")
    appointment = visit(doctor=doctor, patient=patient, starts_at=starts_at, reason=REASON)
    payment = appointment.payment
    payment.payment_intent_id = f"pi_{appointment.pk}"
    payment.save(update_fields=["payment_intent_id"])
    if refunded:
        dashboard_refund(payment, amount=refunded)
    issue_documents(payment)
    return payment


def dashboard_refund(payment: Payment, *, amount: int) -> Refund:
    """A refund of the payment made in Stripe's Dashboard, gone through."""
    return Refund.objects.create(
        payment=payment,
        payment_intent_id=payment.payment_intent_id,
        amount=amount,
        currency="usd",
        reason=RefundReason.STRIPE,
        status=RefundStatus.SUCCEEDED,
        stripe_refund_id=f"re_{payment.pk}_{Refund.objects.count()}",
    )


def staff_in(group: StaffGroup):
    user = StaffFactory(is_superuser=False)
    user.groups.add(Group.objects.get_or_create(name=group.value)[0])
    return user


def urls(payment: Payment) -> list[str]:
    note = payment.credit_notes.get()
    return [
        reverse("payments:receipt", args=[payment.receipt.pk]),
        reverse("payments:receipt_pdf", args=[payment.receipt.pk]),
        reverse("payments:credit_note", args=[note.pk]),
        reverse("payments:credit_note_pdf", args=[note.pk]),
    ]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("the patient", 200),
        ("billing staff", 200),
        ("a superuser", 200),
        ("another patient", 404),
        ("the visit's doctor", 404),
        ("front-desk staff", 404),
        ("clinical-records staff", 404),
    ],
)
def test_only_the_paying_patient_and_billing_staff_reach_the_documents(client, who, status):
    payment = paid_visit(refunded=1000)
    user = {
        "the patient": lambda: payment.appointment.patient,
        "billing staff": lambda: staff_in(StaffGroup.BILLING),
        "a superuser": lambda: StaffFactory(),
        "another patient": lambda: PatientFactory(),
        "the visit's doctor": lambda: payment.appointment.doctor.user,
        "front-desk staff": lambda: staff_in(StaffGroup.FRONT_DESK),
        "clinical-records staff": lambda: staff_in(StaffGroup.CLINICAL_RECORDS),
    }[who]()
    client.force_login(user)

    assert [client.get(url).status_code for url in urls(payment)] == [status] * 4


def test_a_visitor_is_sent_to_log_in_and_a_missing_document_is_a_404(client, patient):
    payment = paid_visit(refunded=1000)
    for url in urls(payment):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url
    client.force_login(payment.appointment.patient)
    assert client.get(reverse("payments:receipt", args=[payment.receipt.pk + 1])).status_code == 404


def test_the_receipt_page_prints_money_words_only(client):
    payment = paid_visit(
        zone="America/New_York", starts_at=dt.datetime(2026, 6, 2, 0, 0, tzinfo=dt.UTC)
    )  # 20:00 on 1 June in New York
    client.force_login(payment.appointment.patient)

    page = client.get(reverse("payments:receipt", args=[payment.receipt.pk])).content.decode()

    for expected in (
        "Northbridge Hospital",
        "R-2026-000001",
        "Issued <time",
        "Monday 1 June 2026",  # the issue date on the hospital's (London) clock
        "Pat Lee",
        "Consultation — Dr Ana Ruiz — Monday 1 June 2026, 20:00 EDT (America/New_York)",
        "$50.00",
        "Total (USD)",
        "Paid by card",
        f"Booking #{payment.appointment_id}",
    ):
        assert expected in page, expected
    assert REASON not in page


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.parametrize(
    ("zone", "starts_at", "visit_text"),
    [
        ("Asia/Tokyo", dt.datetime(2026, 6, 10, 1, 0, tzinfo=dt.UTC), "Wednesday 10 June 2026, 10:00 JST (Asia/Tokyo)"),
        (
            "America/New_York",
            dt.datetime(2026, 6, 10, 1, 0, tzinfo=dt.UTC),
            "Tuesday 9 June 2026, 21:00 EDT (America/New_York)",
        ),
    ],
)
def test_the_pdfs_read_back_with_the_visit_on_the_doctors_clock(client, settings, zone, starts_at, visit_text):
    settings.HOSPITAL_TIME_ZONE = "Asia/Tokyo"  # the issue date on the hospital's clock: 2 June there
    payment = paid_visit(zone=zone, starts_at=starts_at, refunded=2000)
    client.force_login(payment.appointment.patient)
    receipt_response = client.get(reverse("payments:receipt_pdf", args=[payment.receipt.pk]))
    note = payment.credit_notes.get()
    note_response = client.get(reverse("payments:credit_note_pdf", args=[note.pk]))

    assert receipt_response["Content-Type"] == "application/pdf"
    assert receipt_response["Content-Disposition"] == 'attachment; filename="R-2026-000001.pdf"'
    receipt_text = pdf_text(receipt_response.content)
    for expected in (
        "Northbridge Hospital",
        "RECEIPT",
        "R-2026-000001",
        "Issued Tuesday 2 June 2026",
        "Pat Lee",
        f"Consultation — Dr Ana Ruiz — {visit_text}",
        "$50.00",
        "Total (USD)",
        "Paid by card",
    ):
        assert expected in receipt_text, (expected, receipt_text)
    note_text = pdf_text(note_response.content)
    for expected in ("CREDIT NOTE", "CN-2026-000001", "Credits receipt R-2026-000001", visit_text, "$20.00"):
        assert expected in note_text, (expected, note_text)
    assert REASON not in receipt_text + note_text
    # The function the confirmation e-mail attaches gives the same document.
    assert pdf_text(receipt_pdf(payment.receipt.pk)) == receipt_text


def test_a_credit_note_whose_refund_came_back_says_it_is_void(client):
    payment = paid_visit(refunded=1000)
    Refund.objects.filter(payment=payment).update(status=RefundStatus.FAILED, failure_reason="expired_or_canceled_card")
    note = CreditNote.objects.get()
    client.force_login(payment.appointment.patient)

    page = client.get(reverse("payments:credit_note", args=[note.pk])).content.decode()
    detail = client.get(reverse("appointments:detail", args=[payment.appointment_id])).content.decode()

    assert "This credit note is void" in page and "did not go back to the card" in page
    assert "Void" in detail


@pytest.mark.parametrize(
    ("who", "sees_links"),
    [("the patient", True), ("billing staff", True), ("front-desk staff", False)],
)
def test_the_appointment_page_links_the_receipt_and_credit_notes_in_its_payment_area(client, who, sees_links):
    payment = paid_visit(refunded=1000)
    note = payment.credit_notes.get()
    user = {
        "the patient": lambda: payment.appointment.patient,
        "billing staff": lambda: staff_in(StaffGroup.BILLING),
        "front-desk staff": lambda: staff_in(StaffGroup.FRONT_DESK),
    }[who]()
    client.force_login(user)

    page = client.get(reverse("appointments:detail", args=[payment.appointment_id])).content.decode()

    links = [
        f'href="{reverse("payments:receipt", args=[payment.receipt.pk])}">Receipt R-2026-000001</a>',
        f'href="{reverse("payments:credit_note", args=[note.pk])}">Credit note CN-2026-000001</a>',
        f'href="{reverse("payments:receipt_pdf", args=[payment.receipt.pk])}" download>',
    ]
    assert [link in page for link in links] == [sees_links] * 3


def test_the_doctor_page_of_the_visit_names_no_receipt(client):
    payment = paid_visit()
    client.force_login(payment.appointment.doctor.user)

    page = client.get(reverse("appointments:detail", args=[payment.appointment_id])).content.decode()

    assert "R-2026-000001" not in page


def test_the_appointment_page_reads_its_documents_in_fixed_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    payment = paid_visit(refunded=100)
    client.force_login(payment.appointment.patient)
    url = reverse("appointments:detail", args=[payment.appointment_id])
    with CaptureQueriesContext(connection) as one_note:
        client.get(url)
    for _ in range(4):
        dashboard_refund(payment, amount=100)
    issue_documents(payment)
    with CaptureQueriesContext(connection) as five_notes:
        page = client.get(url).content.decode()

    assert page.count(">Credit note CN-2026-") == 5
    assert len(five_notes) == len(one_note)
