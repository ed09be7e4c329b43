"""The money API: payments, their refunds, receipts and credit notes.

A patient reads their own (statuses in their words, failures in plain words, never Stripe's text),
billing staff read all and refund through the same service as the appointment page, doctors are
refused, and another patient's object is a 404. Times are in the doctor's zone (Tokyo: +09:00);
money is minor units (yen have none smaller) and a currency.
"""

import io

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from appointments.models import AppointmentLogEntry
from payments.card_failures import card_failure_words
from payments.models import (
    CreditNote,
    Payment,
    PaymentStatus,
    Receipt,
    Refund,
    RefundFollowUp,
    RefundReason,
    RefundStatus,
)
from payments.services import payment_documents_issue
from tests.api.conftest import client_with_token
from tests.api.matrix import Row, check_row
from tests.factories import PatientFactory, visit
from tests.payments import handmade
from tests.payments.flows import Flow

pytestmark = pytest.mark.django_db

DOCTORS = dict.fromkeys(["doctor", "other_doctor"], 403)
# The patient's own object: theirs and billing's to read, a 404 to the other patient.
OWN_OBJECT = {"anonymous": 401, "patient": 200, "other_patient": 404, **DOCTORS, "staff": 200}
# A list: each patient sees their own (the other's is simply empty).
OWN_LIST = {"anonymous": 401, "patient": 200, "other_patient": 200, **DOCTORS, "staff": 200}


def paid(world) -> Payment:
    """The visit's payment with the payment intent a paid Checkout leaves on it (refundable)."""
    payment = Payment.objects.get(appointment=world.visit)
    if not payment.payment_intent_id:
        payment.payment_intent_id = f"pi_visit_{payment.pk}"
        payment.save(update_fields=["payment_intent_id"])
    return payment


def stripe_refund(payment: Payment, amount: int, **fields) -> Refund:
    """A refund made in Stripe's Dashboard that went through (or as `fields` say)."""
    return Refund.objects.create(
        payment=payment,
        payment_intent_id=payment.payment_intent_id,
        amount=amount,
        currency=payment.currency,
        reason=fields.pop("reason", RefundReason.STRIPE),
        status=fields.pop("status", RefundStatus.SUCCEEDED),
        stripe_refund_id=fields.pop("stripe_refund_id", f"re_{payment.pk}_{Refund.objects.count()}"),
        **fields,
    )


def issue_documents(payment: Payment) -> None:
    with transaction.atomic():
        payment_documents_issue(payment=payment, now=timezone.now())


def documents(world) -> tuple[Receipt, CreditNote]:
    """The visit's receipt, and a credit note for ¥2,000 given back, made once per world."""
    payment = paid(world)
    if not Receipt.objects.filter(payment=payment).exists():
        stripe_refund(payment, 2000)
        issue_documents(payment)
    return Receipt.objects.get(payment=payment), CreditNote.objects.get(payment=payment)


def _payment(w):
    return f"/api/v1/payments/{paid(w).pk}/"


def _refunds(w):
    return f"/api/v1/payments/{paid(w).pk}/refunds/"


def _receipt(w):
    return f"/api/v1/receipts/{documents(w)[0].pk}/"


def _receipt_pdf(w):
    return f"/api/v1/receipts/{documents(w)[0].pk}/pdf/"


def _credit_note(w):
    return f"/api/v1/credit-notes/{documents(w)[1].pk}/"


def _credit_note_pdf(w):
    return f"/api/v1/credit-notes/{documents(w)[1].pk}/pdf/"


ROWS = [
    Row("get", lambda w: "/api/v1/payments/", OWN_LIST),
    Row("get", _payment, OWN_OBJECT),
    Row("get", _refunds, OWN_OBJECT),
    # Only billing gives money back; a patient may not, even on their own payment.
    Row(
        "post",
        _refunds,
        {"anonymous": 401, "patient": 403, "other_patient": 403, **DOCTORS, "staff": 201},
        body={"amount": 1000, "note": "The waiting room overran by an hour."},
    ),
    Row("get", lambda w: "/api/v1/receipts/", OWN_LIST),
    Row("get", _receipt, OWN_OBJECT),
    Row("get", _receipt_pdf, OWN_OBJECT),
    Row("get", lambda w: "/api/v1/credit-notes/", OWN_LIST),
    Row("get", _credit_note, OWN_OBJECT),
    Row("get", _credit_note_pdf, OWN_OBJECT),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {getattr(r.path, '__name__', 'list')}")
def test_money_permissions(world, api_as, row):
    check_row(world, row, api_as)


# -- payments -------------------------------------------------------------------------------------


def test_a_patient_reads_their_payment_in_minor_units_and_the_doctors_zone(world, api_as):
    payment = paid(world)
    receipt, _ = documents(world)

    response = api_as("patient").get("/api/v1/payments/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row == {
        "id": payment.pk,
        "appointment": world.visit.pk,
        "amount": {"amount": 8000, "currency": "jpy"},
        "captured": {"amount": 8000, "currency": "jpy"},
        "refunded": {"amount": payment.refunded_amount, "currency": "jpy"},
        "status": payment.status,
        "paid_at": row["paid_at"],
        "time_zone": "Asia/Tokyo",
        "receipt": receipt.pk,
        "last_failure": None,
    }
    assert row["paid_at"].endswith("+09:00")
    assert api_as("other_patient").get("/api/v1/payments/").json()["count"] == 0
    detail = api_as("patient").get(f"/api/v1/payments/{payment.pk}/").json()
    assert detail == {**row, "refundable": None}  # what is left to refund is staff's business
    staff_detail = api_as("staff").get(f"/api/v1/payments/{payment.pk}/").json()
    assert staff_detail["refundable"] == {"amount": 6000, "currency": "jpy"}  # 8000 less the 2000 back


def test_a_patient_reads_an_open_dispute_as_paid_and_billing_as_disputed(world, api_as):
    payment = paid(world)
    Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.DISPUTED)
    patient, staff = api_as("patient"), api_as("staff")

    assert patient.get(f"/api/v1/payments/{payment.pk}/").json()["status"] == "paid"
    assert staff.get(f"/api/v1/payments/{payment.pk}/").json()["status"] == "disputed"
    # Each filters in their own words.
    assert patient.get("/api/v1/payments/?status=paid").json()["count"] == 1
    refused = patient.get("/api/v1/payments/?status=disputed")
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"status"}
    assert staff.get("/api/v1/payments/?status=disputed").json()["count"] == 1
    assert staff.get("/api/v1/payments/?status=paid").json()["count"] == 0


def test_billing_filters_by_currency_and_status(world, api_as):
    paid(world)
    visit(doctor=world.other_doctor)  # a usd visit of someone else's
    staff = api_as("staff")

    assert staff.get("/api/v1/payments/").json()["count"] == 2
    assert [p["amount"]["currency"] for p in staff.get("/api/v1/payments/?currency=JPY").json()["results"]] == ["jpy"]
    assert staff.get("/api/v1/payments/?currency=eur").json()["count"] == 0
    assert set(staff.get("/api/v1/payments/?currency=xyz").json()["error"]["fields"]) == {"currency"}
    assert staff.get("/api/v1/payments/?status=unpaid").json()["count"] == 0
    bad = staff.get("/api/v1/payments/?status=lost")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"


def test_front_desk_who_cannot_see_money_are_refused_payments_and_documents(world):
    from django.contrib.auth.models import Group

    from accounts.models import StaffGroup
    from tests.factories import StaffFactory

    front_desk = StaffFactory(is_superuser=False)
    front_desk.groups.add(Group.objects.get(name=StaffGroup.FRONT_DESK))
    client = client_with_token(front_desk)
    receipt, _ = documents(world)

    for path in ("/api/v1/payments/", f"/api/v1/payments/{paid(world).pk}/", f"/api/v1/receipts/{receipt.pk}/"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/api/v1/payments/{paid(world).pk}/refunds/", {"amount": 1, "note": "x"}).status_code == 403
    assert not Refund.objects.filter(reason=RefundReason.STAFF).exists()


@pytest.mark.parametrize("bad", ["abc", "-3", "1.5"])
def test_an_id_that_is_no_id_is_a_400_and_one_that_is_nobodys_a_404(world, api_as, bad):
    staff = api_as("staff")
    for path in (
        f"/api/v1/payments/{bad}/",
        f"/api/v1/payments/{bad}/refunds/",
        f"/api/v1/receipts/{bad}/",
        f"/api/v1/credit-notes/{bad}/pdf/",
    ):
        response = staff.get(path)
        assert response.status_code == 400, path
        assert set(response.json()["error"]["fields"]) == {"id"}
    for path in ("/api/v1/payments/999999/", "/api/v1/receipts/0/", "/api/v1/credit-notes/99999999999999999999/pdf/"):
        assert staff.get(path).status_code == 404


def test_a_declined_card_reads_in_our_words_never_stripes(standin, client, webhook_endpoint):
    flow = Flow(standin, client)
    flow.pay(card="4000000000009995")  # declined: insufficient_funds
    flow.deliver(flow.events())
    payment = flow.refresh().payment
    ours = card_failure_words({"decline_code": "insufficient_funds"})
    assert payment.last_failure_detail  # Stripe's account is kept, for the admin only

    for user in (flow.appointment.patient, _billing()):
        response = client_with_token(user).get(f"/api/v1/payments/{payment.pk}/")
        assert response.json()["last_failure"] == ours
        text = response.content.decode()
        assert "insufficient funds" not in text and "card_declined" not in text and "insufficient_funds" not in text


def _billing():
    from django.contrib.auth.models import Group

    from accounts.models import StaffGroup
    from tests.factories import StaffFactory

    user = StaffFactory(is_superuser=False)
    user.groups.add(Group.objects.get(name=StaffGroup.BILLING))
    return user


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize("path", ["/api/v1/payments/", "/api/v1/receipts/", "/api/v1/credit-notes/"])
def test_the_lists_cost_the_same_queries_at_2_and_at_12_rows(world, api_as, path):
    def add(count: int) -> None:
        for _ in range(count):
            payment = Payment.objects.get(appointment=visit(patient=world.patient, doctor=world.doctor))
            payment.payment_intent_id = f"pi_extra_{payment.pk}"
            payment.save(update_fields=["payment_intent_id"])
            stripe_refund(payment, 1000)
            issue_documents(payment)

    add(2)
    at_two = {role: _queries(api_as(role), path) for role in ("patient", "staff")}
    assert api_as("patient").get(path).json()["count"] in (2, 3)
    add(10)
    at_twelve = {role: _queries(api_as(role), path) for role in ("patient", "staff")}
    assert api_as("patient").get(path).json()["count"] in (12, 13)
    assert at_twelve == at_two


def test_the_refund_list_costs_the_same_at_2_and_12_refunds(world, api_as):
    payment = paid(world)
    for _ in range(2):
        stripe_refund(payment, 100)
    path = f"/api/v1/payments/{payment.pk}/refunds/"
    at_two = _queries(api_as("staff"), path)
    for _ in range(10):
        stripe_refund(payment, 100)
    assert api_as("staff").get(path).json()["count"] == 12
    assert _queries(api_as("staff"), path) == at_two


# -- refunds --------------------------------------------------------------------------------------


def test_billing_refunds_part_of_a_payment_and_the_row_and_the_timeline_say_so(world, api_as):
    payment = paid(world)

    response = api_as("staff").post(
        f"/api/v1/payments/{payment.pk}/refunds/", {"amount": 3000, "note": " Waited an hour. "}, format="json"
    )

    assert response.status_code == 201, response.content
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.status, refund.reason, refund.requested_by, refund.note) == (
        3000, RefundStatus.REQUESTED, RefundReason.STAFF, world.staff, "Waited an hour.",
    )  # fmt: skip
    body = response.json()
    assert body == {
        "id": refund.pk,
        "payment": payment.pk,
        "amount": {"amount": 3000, "currency": "jpy"},
        "status": "requested",
        "reason": "staff",
        "note": "Waited an hour.",
        "outcome": "",
        "created_at": body["created_at"],
        "time_zone": "Asia/Tokyo",
    }
    assert body["created_at"].endswith("+09:00")
    assert AppointmentLogEntry.objects.filter(
        appointment=world.visit, message="The hospital is refunding ¥3,000."
    ).exists()
    # The patient sees it among their payment's refunds, without staff's note.
    listed = api_as("patient").get(f"/api/v1/payments/{payment.pk}/refunds/").json()
    assert [(r["id"], r["amount"]["amount"], r["note"]) for r in listed["results"]] == [(refund.pk, 3000, None)]


def test_a_refund_retried_with_its_idempotency_key_gives_the_first_answer_and_refunds_once(world, api_as):
    payment = paid(world)
    staff = api_as("staff")
    path, body = f"/api/v1/payments/{payment.pk}/refunds/", {"amount": 2000, "note": "Late start."}

    first = staff.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    again = staff.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    other = staff.post(path, {**body, "amount": 1000}, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert list(Refund.objects.filter(payment=payment).values_list("amount", flat=True)) == [2000]


def test_more_than_is_left_is_refused_in_the_services_words_and_changes_nothing(world, api_as):
    payment = paid(world)
    staff = api_as("staff")
    path = f"/api/v1/payments/{payment.pk}/refunds/"
    assert staff.post(path, {"amount": 6000, "note": "Most of it."}, format="json").status_code == 201

    response = staff.post(path, {"amount": 2001, "note": "The rest, and a yen."}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": f"That is more than is left to refund on payment #{payment.pk}: at most ¥2,000.",
        "fields": {},
    }
    assert Refund.objects.filter(payment=payment).count() == 1
    assert staff.post(path, {"amount": 2000, "note": "The rest."}, format="json").status_code == 201
    nothing_left = staff.post(path, {"amount": 1, "note": "One more."}, format="json")
    assert nothing_left.status_code == 409
    assert nothing_left.json()["error"]["message"] == f"Nothing is left to refund on payment #{payment.pk}."


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"amount": 0, "note": "Zero."}, {"amount"}),
        ({"amount": -500, "note": "Negative."}, {"amount"}),
        ({"amount": "12.50", "note": "Decimals."}, {"amount"}),
        ({"amount": 100}, {"note"}),
        ({"amount": 100, "note": "   "}, {"note"}),
        ({}, {"amount", "note"}),
    ],
)
def test_a_refund_that_is_no_amount_or_has_no_reason_is_a_400(world, api_as, body, fields):
    response = api_as("staff").post(f"/api/v1/payments/{paid(world).pk}/refunds/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == fields
    if fields == {"note"}:
        assert response.json()["error"]["fields"]["note"] == ["Please say why the money is given back."]
    assert not Refund.objects.exists()


def test_a_refund_rejected_by_stripe_reads_in_our_words(world, api_as):
    payment = paid(world)
    stripe_text = "Charge ch_123 has been charged back; cannot issue a refund (resource_missing)."
    stripe_refund(
        payment,
        500,
        reason=RefundReason.STAFF,
        status=RefundStatus.FAILED,
        stripe_refund_id=None,
        failure_reason=stripe_text,
        follow_up=RefundFollowUp.NEEDS_STAFF,
    )
    for role in ("patient", "staff"):
        response = api_as(role).get(f"/api/v1/payments/{payment.pk}/refunds/")
        (row,) = response.json()["results"]
        assert row["status"] == "failed"
        assert row["outcome"] == (
            "This refund did not go through because it could not be completed. "
            "Our staff will contact you to return the money another way."
        )
        assert "charged back" not in response.content.decode()


@pytest.mark.usefixtures("webhook_endpoint")
def test_an_api_refund_is_sent_to_stripe_and_its_credit_note_follows(standin, client):
    from tests.payments.test_staff_refunds import issue_requested_refunds

    flow = handmade.paid_flow(standin, client)
    payment = flow.refresh().payment
    billing = client_with_token(_billing())

    response = billing.post(
        f"/api/v1/payments/{payment.pk}/refunds/", {"amount": 2000, "note": "Goodwill."}, format="json"
    )
    assert response.status_code == 201, response.content
    issue_requested_refunds()  # the worker, after commit
    flow.deliver(flow.events())

    stripe_refunds = standin.get(f"refunds?payment_intent={flow.payment_intent_id}")["data"]
    assert [(r["amount"], r["metadata"]["hospital_refund_id"]) for r in stripe_refunds] == [
        (2000, str(response.json()["id"]))
    ]
    patient = client_with_token(flow.appointment.patient)
    refunds = patient.get(f"/api/v1/payments/{payment.pk}/refunds/").json()["results"]
    assert [(r["status"], r["amount"]["amount"]) for r in refunds] == [("succeeded", 2000)]
    assert patient.get(f"/api/v1/payments/{payment.pk}/").json()["status"] == "partially_refunded"
    (note,) = patient.get("/api/v1/credit-notes/").json()["results"]
    assert note["amount"] == {"amount": 2000, "currency": payment.currency}
    assert note["refund"] == response.json()["id"]


# -- receipts and credit notes ---------------------------------------------------------------------


def test_a_receipt_and_its_credit_note_as_the_patient_reads_them(world, api_as):
    receipt, note = documents(world)
    patient = api_as("patient")

    body = patient.get(f"/api/v1/receipts/{receipt.pk}/").json()
    assert body == {
        "id": receipt.pk,
        "number": receipt.display_number,
        "payment": receipt.payment_id,
        "appointment": world.visit.pk,
        "patient_name": world.patient.get_full_name(),
        "amount": {"amount": 8000, "currency": "jpy"},
        "issued_at": body["issued_at"],
        "time_zone": "Asia/Tokyo",
        "lines": [{"description": body["lines"][0]["description"], "amount": {"amount": 8000, "currency": "jpy"}}],
        "pdf": f"/api/v1/receipts/{receipt.pk}/pdf/",
    }
    assert body["number"].startswith("R-") and body["issued_at"].endswith("+09:00")
    line = body["lines"][0]["description"]
    assert line.startswith("Consultation — ") and "(Asia/Tokyo)" in line
    assert world.visit.reason not in line  # money words only
    assert patient.get("/api/v1/receipts/").json()["results"] == [body]

    credit = patient.get(f"/api/v1/credit-notes/{note.pk}/").json()
    assert credit["number"].startswith("CN-")
    assert credit["amount"] == {"amount": 2000, "currency": "jpy"}
    assert credit["credits_receipt"] == {"id": receipt.pk, "number": receipt.display_number}
    assert (credit["refund"], credit["voided"], credit["void_note"]) == (note.refund_id, False, "")
    assert api_as("other_patient").get("/api/v1/receipts/").json()["count"] == 0
    assert api_as("staff").get("/api/v1/credit-notes/").json()["count"] == 1


def test_a_voided_credit_note_says_so(world, api_as):
    _, note = documents(world)
    Refund.objects.filter(pk=note.refund_id).update(status=RefundStatus.FAILED)
    credit = api_as("patient").get(f"/api/v1/credit-notes/{note.pk}/").json()
    assert credit["voided"] is True
    assert credit["void_note"].startswith("Void: the bank returned this refund")


def test_the_pdf_is_the_pages_own_and_an_error_stays_json(world, api_as):
    receipt, note = documents(world)
    patient = api_as("patient")

    response = patient.get(f"/api/v1/receipts/{receipt.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{receipt.display_number}.pdf"'
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert receipt.display_number in text
    assert response.content[:5] == b"%PDF-"
    credit_pdf = patient.get(f"/api/v1/credit-notes/{note.pk}/pdf/", HTTP_ACCEPT="application/json")
    assert credit_pdf.status_code == 200 and credit_pdf["Content-Type"] == "application/pdf"

    theirs = api_as("other_patient").get(f"/api/v1/receipts/{receipt.pk}/pdf/", HTTP_ACCEPT="application/pdf")
    assert theirs.status_code == 404
    assert theirs["Content-Type"] == "application/json"
    assert theirs.json()["error"]["code"] == "not_found"


def test_another_patients_documents_are_not_listed(world, api_as):
    documents(world)
    other = visit(patient=PatientFactory(), doctor=world.doctor)
    payment = Payment.objects.get(appointment=other)
    payment.payment_intent_id = "pi_someone_else"
    payment.save(update_fields=["payment_intent_id"])
    issue_documents(payment)

    assert api_as("patient").get("/api/v1/receipts/").json()["count"] == 1
    assert api_as("staff").get("/api/v1/receipts/").json()["count"] == 2
