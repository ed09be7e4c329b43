"""Prescriptions through the API: the visit's doctor issues one with the write form's rules; its
doctor and its patient list, read and download it (the page's PDF); everyone else is refused."""

import datetime as dt
import html
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from hospital import timefmt
from hospital.models import AuditAction, AuditEntry
from prescriptions.models import Prescription
from tests.api.matrix import Row, check_row
from tests.factories import visit
from tests.prescriptions.conftest import AMOXICILLIN, SALBUTAMOL, issue

pytestmark = pytest.mark.django_db

TOKYO = "Asia/Tokyo"
PARACETAMOL = {
    "medicine": "Paracetamol",
    "strength": "500 mg",
    "dose": "1 tablet",
    "route": "oral",
    "frequency": "up to 4 times a day",
    "duration": "5 days",
    "quantity": 20,
    "instructions": "",
}


def completed(world, *, paid=True, status="completed"):
    """A completed visit of the world's patient with the world's (Tokyo) doctor, 2 hours ago."""
    starts_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    return visit(status=status, paid=paid, patient=world.patient, doctor=world.doctor, starts_at=starts_at)


def issued(world) -> Prescription:
    return issue(completed(world), items=[AMOXICILLIN, SALBUTAMOL])


READERS = {"anonymous": 401, "patient": 200, "other_patient": 404, "doctor": 200, "other_doctor": 404, "staff": 403}

ROWS = [
    Row(
        "post",
        lambda w: f"/api/v1/visits/{completed(w).pk}/prescriptions/",
        {"anonymous": 401, "patient": 403, "other_patient": 403, "staff": 403, "other_doctor": 404, "doctor": 201},
        body={"items": [PARACETAMOL]},
    ),
    Row(
        "get",
        lambda w: "/api/v1/prescriptions/",
        {"anonymous": 401, "patient": 200, "other_patient": 200, "doctor": 200, "other_doctor": 200, "staff": 403},
    ),
    Row("get", lambda w: f"/api/v1/prescriptions/{issued(w).pk}/", READERS),
    Row("get", lambda w: f"/api/v1/prescriptions/{issued(w).pk}/pdf/", READERS),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.path.__code__.co_firstlineno}")
def test_prescription_permissions(world, api_as, row):
    check_row(world, row, api_as)


# -- writing --------------------------------------------------------------------------------------


def test_the_visits_doctor_issues_a_prescription_with_times_on_their_clock(world, api_as):
    appointment = completed(world)
    follow_up = (timefmt.local(dt.datetime.now(dt.UTC), TOKYO) + dt.timedelta(days=7)).date()

    response = api_as("doctor").post(
        f"/api/v1/visits/{appointment.pk}/prescriptions/",
        {
            "items": [PARACETAMOL, {**AMOXICILLIN, "route": "oral", "instructions": "  after food  "}],
            "general_advice": "Rest.",
            "follow_up_on": follow_up.isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    prescription = Prescription.objects.get(pk=body["id"])
    assert body["number"] == prescription.number
    assert body["verification_code"] == prescription.verification_code_display
    assert body["status"] == "current"
    assert body["time_zone"] == TOKYO
    assert body["issued_at"].endswith("+09:00")
    visit_starts = timefmt.local(appointment.slot.starts_at, TOKYO).isoformat()
    assert body["visit"] == {"id": appointment.pk, "starts_at": visit_starts}
    assert body["patient"] == {"name": world.patient.get_full_name(), "date_of_birth": "1990-05-17"}
    assert [(i["position"], i["medicine"], i["route"], i["route_label"], i["quantity"]) for i in body["items"]] == [
        (1, "Paracetamol", "oral", "By mouth", 20),
        (2, "Amoxicillin", "oral", "By mouth", 21),
    ]
    assert body["items"][1]["instructions"] == "after food"
    assert body["follow_up_on"] == follow_up.isoformat()
    assert body["supersedes"] is None and body["superseded_by"] is None
    assert AuditEntry.objects.filter(
        action=AuditAction.CREATE, record_id=str(prescription.pk), actor=world.doctor.user
    ).exists()


def test_a_correction_replaces_the_current_one(world, api_as):
    first = issued(world)
    response = api_as("doctor").post(
        f"/api/v1/visits/{first.appointment_id}/prescriptions/",
        {"items": [PARACETAMOL], "supersedes": first.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["supersedes"] == {"id": first.pk, "number": first.number}
    old = api_as("patient").get(f"/api/v1/prescriptions/{first.pk}/").json()
    assert old["status"] == "superseded"
    assert old["superseded_by"] == {"id": response.json()["id"], "number": response.json()["number"]}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"items"}),
        ({"items": []}, {"items"}),
        ({"items": "Paracetamol"}, {"items"}),
        ({"items": [{**PARACETAMOL, "quantity": 0}]}, {"items.0.quantity"}),
        (
            {"items": [PARACETAMOL, {"medicine": " ", "route": "by post"}]},
            {
                "items.1.medicine",
                "items.1.dose",
                "items.1.route",
                "items.1.frequency",
                "items.1.duration",
                "items.1.quantity",
            },
        ),
        ({"items": [PARACETAMOL] * 21}, {"items"}),
        ({"items": [PARACETAMOL], "follow_up_on": "2020-01-01"}, {"follow_up_on"}),
        ({"items": [PARACETAMOL], "follow_up_on": "soon"}, {"follow_up_on"}),
        (
            {"items": [{**PARACETAMOL, "medicine": "x" * 201}], "general_advice": "y" * 2001},
            {
                "items.0.medicine",
                "general_advice",
            },
        ),
    ],
)
def test_invalid_items_are_a_400_naming_each_field_and_issue_nothing(world, api_as, body, fields):
    appointment = completed(world)
    response = api_as("doctor").post(f"/api/v1/visits/{appointment.pk}/prescriptions/", body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["fields"]) == fields
    assert not Prescription.objects.exists()


def test_a_follow_up_in_the_past_is_refused_in_the_forms_words(world, api_as):
    appointment = completed(world)
    response = api_as("doctor").post(
        f"/api/v1/visits/{appointment.pk}/prescriptions/",
        {"items": [PARACETAMOL], "follow_up_on": "2020-01-01"},
        format="json",
    )
    today = timefmt.local(dt.datetime.now(dt.UTC), TOKYO).date()
    assert response.json()["error"]["fields"]["follow_up_on"] == [
        f"The follow-up date is in the past. Choose today ({today.day} {today:%B %Y}) or a later day."
    ]


@pytest.mark.parametrize(
    ("status", "paid", "message"),
    [
        ("confirmed", True, "A prescription can be written once the visit is completed; this visit is confirmed."),
        ("in_progress", True, "A prescription can be written once the visit is completed; this visit is in progress."),
        (
            "completed",
            False,
            "A prescription can be written only for a paid visit, and this visit's payment is not complete.",
        ),
    ],
)
def test_a_visit_that_does_not_allow_one_is_a_409(world, api_as, status, paid, message):
    appointment = completed(world, status=status, paid=paid)
    response = api_as("doctor").post(
        f"/api/v1/visits/{appointment.pk}/prescriptions/", {"items": [PARACETAMOL]}, format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["error"]["message"] == message
    assert not Prescription.objects.exists()


def test_a_second_prescription_of_a_visit_is_a_409_not_a_second_one(world, api_as):
    first = issued(world)
    response = api_as("doctor").post(
        f"/api/v1/visits/{first.appointment_id}/prescriptions/", {"items": [PARACETAMOL]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        f"Prescription {first.number} was already issued for this visit. To change it, write a correction of it."
    )
    assert Prescription.objects.count() == 1


def test_ids_that_do_not_parse_are_a_400(world, api_as):
    assert api_as("doctor").post("/api/v1/visits/x/prescriptions/", {}, format="json").status_code == 400
    assert api_as("patient").get("/api/v1/prescriptions/RX-1/").status_code == 400
    assert api_as("patient").get("/api/v1/prescriptions/99999/pdf/").status_code == 404


# -- reading --------------------------------------------------------------------------------------


def test_each_lists_their_own_newest_first(world, api_as):
    first = issued(world)
    theirs = issue(visit(status="completed", doctor=world.other_doctor, patient=world.other_patient))

    mine = api_as("patient").get("/api/v1/prescriptions/").json()
    assert [row["id"] for row in mine["results"]] == [first.pk]
    assert mine["results"][0] == {
        "id": first.pk,
        "number": first.number,
        "issued_at": timefmt.local(first.issued_at, TOKYO).isoformat(),
        "time_zone": TOKYO,
        "doctor": {"name": f"Dr {world.doctor.user.first_name} {world.doctor.user.last_name}"},
        "patient": {"name": world.patient.get_full_name()},
        "item_count": 2,
        "status": "current",
    }
    assert mine["results"][0]["issued_at"].endswith("+09:00")
    assert [row["id"] for row in api_as("doctor").get("/api/v1/prescriptions/").json()["results"]] == [first.pk]
    assert [row["id"] for row in api_as("other_doctor").get("/api/v1/prescriptions/").json()["results"]] == [theirs.pk]


def _list_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/prescriptions/")
    assert response.status_code == 200
    return len(queries), response.json()["count"]


def test_the_list_costs_the_same_queries_at_2_and_12_prescriptions(world, api_as):
    client = api_as("patient")
    client.get("/api/v1/me/")  # the token's "last used" is written once a minute: not in what is counted
    for _ in range(2):
        issue(visit(status="completed", doctor=world.doctor, patient=world.patient))
    at_two = _list_queries(client)
    for _ in range(10):
        issue(visit(status="completed", doctor=world.doctor, patient=world.patient))
    at_twelve = _list_queries(client)
    assert (at_two[1], at_twelve[1]) == (2, 12)
    assert at_two[0] == at_twelve[0]


def test_reading_one_is_audited_and_not_cached(world, api_as):
    prescription = issued(world)
    response = api_as("patient").get(f"/api/v1/prescriptions/{prescription.pk}/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert [item["medicine"] for item in response.json()["items"]] == ["Amoxicillin", "Salbutamol inhaler"]
    entry = AuditEntry.objects.filter(record_type="prescriptions.prescription", action=AuditAction.READ).get()
    assert (entry.actor, entry.patient, entry.summary) == (world.patient, world.patient, f"Read {prescription.number}")


def test_the_pdf_is_the_pages_with_times_on_the_doctors_clock(world, api_as, client):
    prescription = issued(world)

    response = api_as("patient").get(f"/api/v1/prescriptions/{prescription.pk}/pdf/", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{prescription.number}.pdf"'
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(response.content)).pages)
    starts_at = prescription.appointment.slot.starts_at
    assert f"Visit {timefmt.format_when(starts_at, TOKYO)}" in text
    assert f"Issued {timefmt.format_when(prescription.issued_at, TOKYO)}" in text
    assert prescription.number in text and "UTC" not in text
    assert AuditEntry.objects.filter(action=AuditAction.DOWNLOAD, record_id=str(prescription.pk)).count() == 1

    client.force_login(world.patient)  # the page's own PDF reads the same
    page_pdf = client.get(f"/prescriptions/{prescription.pk}/pdf/")
    page_text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(page_pdf.content)).pages)
    assert page_text == text


def test_someone_elses_pdf_is_a_404_in_the_apis_json_whatever_accept_says(world, api_as):
    prescription = issued(world)
    response = api_as("other_patient").get(
        f"/api/v1/prescriptions/{prescription.pk}/pdf/", HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not AuditEntry.objects.filter(action=AuditAction.DOWNLOAD).exists()


def test_the_api_and_the_write_page_refuse_the_same_input_in_the_same_words(world, api_as, client):
    """The API's rows are the page's rows (PrescriptionItemForm, PrescriptionForm): one limit, one message."""
    from django.urls import reverse

    from tests.prescriptions.test_pages import form_data

    appointment = completed(world)
    row = {**PARACETAMOL, "medicine": "x" * 201, "quantity": 10000}
    response = api_as("doctor").post(
        f"/api/v1/visits/{appointment.pk}/prescriptions/", {"items": [row], "general_advice": "y" * 2001}, format="json"
    )
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert fields == {
        "items.0.medicine": ["Ensure this value has at most 200 characters (it has 201)."],
        "items.0.quantity": ["Ensure this value is less than or equal to 9999."],
        "general_advice": ["Ensure this value has at most 2000 characters (it has 2001)."],
    }

    client.force_login(world.doctor.user)
    page = client.post(
        reverse("prescriptions:write", args=[appointment.pk]), form_data([row], general_advice="y" * 2001)
    )
    assert page.status_code == 200  # the page shows the form again, its errors beside the fields
    for messages in fields.values():
        assert html.escape(messages[0]) in page.text
    empty = api_as("doctor").post(f"/api/v1/visits/{appointment.pk}/prescriptions/", {"items": []}, format="json")
    assert empty.json()["error"]["fields"] == {"items": ["Add at least one medicine: fill in the first row."]}
    assert (
        "Add at least one medicine: fill in the first row."
        in client.post(reverse("prescriptions:write", args=[appointment.pk]), form_data([{"route": "oral"}])).text
    )
    assert not Prescription.objects.exists()
