"""The doctor's day through the API: the agenda, one visit, start / complete / no-show, the note
and its addenda; a whole day from the agenda to the patient's PDF; refusals that change nothing."""

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from appointments.models import Appointment, AppointmentLogEntry, AppointmentStatus, VisitNote
from hospital import timefmt
from hospital.models import AuditAction, AuditEntry
from tests.api.conftest import client_with_token
from tests.api.matrix import Row, check_row
from tests.factories import PatientFactory, visit

pytestmark = pytest.mark.django_db

S = AppointmentStatus
TOKYO = "Asia/Tokyo"
REFUSED = {"anonymous": 401, "patient": 403, "other_patient": 403, "staff": 403, "other_doctor": 404}


def _soon() -> dt.datetime:
    """A start five minutes from now: the visit can start (from 15 minutes before), not yet be a no-show."""
    return (timezone.now() + dt.timedelta(minutes=5)).replace(second=0, microsecond=0)


def visit_now(world, status=S.CONFIRMED, *, starts_at=None, paid=True) -> Appointment:
    """Another visit of the world's patient with the world's (Tokyo) doctor."""
    return visit(status=status, paid=paid, patient=world.patient, doctor=world.doctor, starts_at=starts_at or _soon())


def local_day(moment: dt.datetime, zone: str = TOKYO) -> str:
    return timefmt.local(moment, zone).date().isoformat()


ROWS = [
    Row(
        "get",
        lambda w: "/api/v1/agenda/",
        {"anonymous": 401, "patient": 403, "other_patient": 403, "staff": 403, "doctor": 200, "other_doctor": 200},
    ),
    Row("get", lambda w: f"/api/v1/visits/{w.visit.pk}/", {**REFUSED, "doctor": 200}),
    Row("post", lambda w: f"/api/v1/visits/{visit_now(w).pk}/start/", {**REFUSED, "doctor": 200}),
    Row(
        "post",
        lambda w: f"/api/v1/visits/{visit_now(w, S.IN_PROGRESS).pk}/complete/",
        {**REFUSED, "doctor": 200},
        body={"note": "Seen; all well."},
    ),
    Row(
        "post",
        lambda w: f"/api/v1/visits/{visit_now(w, starts_at=timezone.now() - dt.timedelta(minutes=20)).pk}/no-show/",
        {**REFUSED, "doctor": 200},
    ),
    Row("get", lambda w: f"/api/v1/visits/{w.visit.pk}/note/", {**REFUSED, "doctor": 200}),
    Row(
        "put",
        lambda w: f"/api/v1/visits/{visit_now(w, S.IN_PROGRESS).pk}/note/",
        {**REFUSED, "doctor": 200},
        body={"text": "Sore throat for three days."},
    ),
    Row(
        "post",
        lambda w: f"/api/v1/visits/{completed_with_note(w).pk}/note/addenda/",
        {**REFUSED, "doctor": 201},
        body={"text": "Throat swab negative."},
    ),
]


def completed_with_note(world) -> Appointment:
    from appointments import services

    appointment = visit_now(world, S.IN_PROGRESS)
    services.appointment_complete(appointment_id=appointment.pk, doctor=world.doctor.user, note_text="Seen.")
    return appointment


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.path.__code__.co_firstlineno}")
def test_doctor_permissions(world, api_as, row):
    check_row(world, row, api_as)


# -- a whole day ----------------------------------------------------------------------------------


def test_a_doctors_whole_day_through_the_api(world, api_as):
    doctor = api_as("doctor")
    starts_at = _soon()
    appointment = visit(
        patient=PatientFactory(first_name="Hana", last_name="Mori", email="hana@example.com"),
        doctor=world.doctor,
        starts_at=starts_at,
        reason="Sore throat",
    )

    # The agenda of the visit's day on the doctor's calendar lists it, with its start on offer.
    agenda = doctor.get(f"/api/v1/agenda/?date={local_day(starts_at)}")
    assert agenda.status_code == 200, agenda.content
    row = next(r for r in agenda.json()["results"] if r["id"] == appointment.pk)
    assert row["starts_at"] == timefmt.local(starts_at, TOKYO).isoformat()
    assert row["starts_at"].endswith("+09:00")
    assert row["time_zone"] == TOKYO
    assert row["patient"] == {"id": appointment.patient_id, "name": "Hana Mori"}
    assert row["actions"] == ["start"]
    assert row["fee"] is None  # a doctor's pages show no amounts; the payment's status, yes
    assert row["payment_status"] == "paid"

    started = doctor.post(f"/api/v1/visits/{appointment.pk}/start/")
    assert started.status_code == 200, started.content
    assert started.json()["status"] == S.IN_PROGRESS

    saved = doctor.put(f"/api/v1/visits/{appointment.pk}/note/", {"text": "Sore throat, no fever."}, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json()["text"] == "Sore throat, no fever."
    assert saved.json()["signed"] is False and saved.json()["can_edit"] is True
    assert saved.json()["updated_at"].endswith("+09:00")

    completed = doctor.post(
        f"/api/v1/visits/{appointment.pk}/complete/", {"note": "Sore throat, no fever. Viral."}, format="json"
    )
    assert completed.status_code == 200, completed.content
    assert completed.json()["status"] == S.COMPLETED
    note = VisitNote.objects.get(appointment=appointment)
    assert note.text == "Sore throat, no fever. Viral." and note.signed_by == world.doctor.user

    refused = doctor.put(f"/api/v1/visits/{appointment.pk}/note/", {"text": "Changed my mind."}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "This visit's note is signed and cannot change. Add an addendum to correct it."
    )
    assert VisitNote.objects.get(appointment=appointment).text == "Sore throat, no fever. Viral."

    addendum = doctor.post(
        f"/api/v1/visits/{appointment.pk}/note/addenda/", {"text": "Rapid strep test negative."}, format="json"
    )
    assert addendum.status_code == 201, addendum.content
    assert addendum.json()["text"] == "Rapid strep test negative."
    assert addendum.json()["signed_at"].endswith("+09:00")

    shown = doctor.get(f"/api/v1/visits/{appointment.pk}/")
    assert shown.status_code == 200
    body = shown.json()
    assert body["appointment"]["status"] == S.COMPLETED
    assert body["patient"]["name"] == "Hana Mori" and body["patient"]["date_of_birth"] == "1990-05-17"
    assert body["note"]["signed"] is True and body["note"]["can_edit"] is False
    assert [a["text"] for a in body["note"]["addenda"]] == ["Rapid strep test negative."]
    assert body["actions"] == [] and body["prescription_refusal"] == "" and body["prescriptions"] == []

    written = doctor.post(
        f"/api/v1/visits/{appointment.pk}/prescriptions/",
        {
            "items": [
                {
                    "medicine": "Paracetamol",
                    "strength": "500 mg",
                    "dose": "1 tablet",
                    "frequency": "up to 4 times a day",
                    "duration": "5 days",
                    "quantity": 20,
                }
            ],
            "general_advice": "Rest and drink plenty of fluids.",
        },
        format="json",
    )
    assert written.status_code == 201, written.content
    number = written.json()["number"]

    patient = client_with_token(appointment.patient)
    listed = patient.get("/api/v1/prescriptions/")
    assert [(r["number"], r["doctor"]["name"]) for r in listed.json()["results"]] == [
        (number, f"Dr {world.doctor.user.first_name} {world.doctor.user.last_name}")
    ]
    pdf = patient.get(f"/api/v1/prescriptions/{written.json()['id']}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert number in text
    assert f"Visit {timefmt.format_when(starts_at, TOKYO)}" in text
    assert "JST (Asia/Tokyo)" in text and "UTC" not in text
    assert AuditEntry.objects.filter(
        actor=appointment.patient, action=AuditAction.DOWNLOAD, record_id=str(written.json()["id"])
    ).exists()


def test_reading_a_visit_and_its_note_is_audited_as_the_page_is(world, api_as):
    appointment = completed_with_note(world)
    before = AuditEntry.objects.count()

    assert api_as("doctor").get(f"/api/v1/visits/{appointment.pk}/").status_code == 200
    assert api_as("doctor").get(f"/api/v1/visits/{appointment.pk}/note/").status_code == 200

    entries = list(AuditEntry.objects.order_by("pk")[before:].values_list("action", "record_type", "summary"))
    assert entries == [
        (
            AuditAction.READ,
            "appointments.appointment",
            "Read the patient's details and earlier visits with this doctor through the API.",
        ),
        (AuditAction.READ, "appointments.visitnote", "Read the visit note (signed, with 0 addenda) through the API."),
        (AuditAction.READ, "appointments.visitnote", "Read the visit note (signed, with 0 addenda) through the API."),
    ]
    assert all(entry.actor_id == world.doctor.user.pk for entry in AuditEntry.objects.order_by("pk")[before:])


def test_the_visit_shows_age_earlier_visits_and_whats_on_offer(world, api_as):
    earlier = visit_now(world, S.COMPLETED, starts_at=timezone.now() - dt.timedelta(days=30))
    body = api_as("doctor").get(f"/api/v1/visits/{world.visit.pk}/").json()
    assert body["patient"]["age"] is not None
    assert body["earlier_visits"] == [
        {"id": earlier.pk, "starts_at": timefmt.local(earlier.slot.starts_at, TOKYO).isoformat(), "status": "completed"}
    ]
    assert body["actions"] == []
    assert body["start_opens"].startswith("You can start this visit from ")
    assert body["note"] == {
        "text": "",
        "signed": False,
        "signed_at": None,
        "signed_by": None,
        "updated_at": None,
        "time_zone": TOKYO,
        "can_edit": False,
        "can_add_addendum": False,
        "addenda": [],
    }
    assert body["prescription_refusal"] == (
        "A prescription can be written once the visit is completed; this visit is confirmed."
    )


# -- refusals change nothing --------------------------------------------------------------------


def _state(appointment: Appointment) -> tuple:
    appointment.refresh_from_db()
    return appointment.status, AppointmentLogEntry.objects.filter(appointment=appointment).count()


@pytest.mark.parametrize(
    ("status", "starts_in", "action", "message"),
    [
        (S.CONFIRMED, dt.timedelta(days=3), "start", "You can start this visit from "),
        (S.CONFIRMED, dt.timedelta(days=3), "complete", "This visit has not started yet. Start it first."),
        (S.CONFIRMED, dt.timedelta(minutes=5), "no-show", "You can mark a no-show once the visit's time has come"),
        (S.IN_PROGRESS, dt.timedelta(minutes=-5), "start", "This visit has already started."),
        (S.IN_PROGRESS, dt.timedelta(minutes=-5), "no-show", "This visit has already started: the patient came"),
        (S.COMPLETED, dt.timedelta(minutes=-40), "complete", "This visit is already completed."),
        (S.CANCELED, dt.timedelta(days=1), "start", "This appointment was canceled."),
    ],
)
def test_a_forbidden_move_is_a_409_with_the_services_words_and_changes_nothing(
    world, api_as, status, starts_in, action, message
):
    appointment = visit_now(world, status, starts_at=(timezone.now() + starts_in).replace(microsecond=0))
    before = _state(appointment)

    response = api_as("doctor").post(f"/api/v1/visits/{appointment.pk}/{action}/", {"note": "x"}, format="json")

    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "conflict"
    assert response.json()["error"]["message"].startswith(message)
    assert _state(appointment) == before
    assert not VisitNote.objects.filter(appointment=appointment, text="x").exists()


def test_an_unpaid_visit_cannot_start(world, api_as):
    appointment = visit_now(world, paid=False)
    response = api_as("doctor").post(f"/api/v1/visits/{appointment.pk}/start/")
    assert response.status_code == 409
    assert response.json()["error"]["message"].startswith("This visit is not paid, so it cannot start.")
    assert _state(appointment)[0] == S.CONFIRMED


def test_notes_and_addenda_are_refused_out_of_their_time(world, api_as):
    doctor = api_as("doctor")
    not_started = world.visit

    note = doctor.put(f"/api/v1/visits/{not_started.pk}/note/", {"text": "Too soon."}, format="json")
    assert note.status_code == 409
    assert note.json()["error"]["message"] == (
        "You can write the visit note while the visit is in progress. Start the visit first."
    )
    addendum = doctor.post(f"/api/v1/visits/{not_started.pk}/note/addenda/", {"text": "Too soon."}, format="json")
    assert addendum.status_code == 409
    assert addendum.json()["error"]["message"].startswith("Addenda correct a signed note: this visit has none yet.")
    assert not VisitNote.objects.filter(appointment=not_started).exists()


def test_bad_input_is_a_400_and_unknown_ids_a_404(world, api_as):
    doctor = api_as("doctor")
    assert doctor.get("/api/v1/visits/abc/").status_code == 400
    assert doctor.get("/api/v1/visits/abc/").json()["error"]["fields"] == {
        "id": ["Not a valid id: a whole number is expected."]
    }
    assert doctor.post("/api/v1/visits/1e3/start/").status_code == 400
    assert doctor.get("/api/v1/visits/999999/").status_code == 404
    assert doctor.post("/api/v1/visits/999999/start/").status_code == 404
    empty = doctor.post(f"/api/v1/visits/{completed_with_note(world).pk}/note/addenda/", {"text": ""}, format="json")
    assert empty.status_code == 400 and set(empty.json()["error"]["fields"]) == {"text"}
    long = doctor.put(f"/api/v1/visits/{world.visit.pk}/note/", {"text": "x" * 20001}, format="json")
    assert long.status_code == 400 and set(long.json()["error"]["fields"]) == {"text"}
    assert doctor.put(f"/api/v1/visits/{world.visit.pk}/note/", {}, format="json").status_code == 400


# -- the agenda -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("date=2026-02-30", {"date"}),
        ("date=tomorrow", {"date"}),
        ("from={d0}", {"to"}),
        ("to={d0}", {"from"}),
        ("from={d9}&to={d0}", {"to"}),
        ("from={d0}&to={d31}", {"to"}),
        ("date={d0}&from={d0}&to={d1}", {"non_field_errors"}),
        ("date=9999-12-31", {"date"}),
        ("date=0001-01-01", {"date"}),
        ("from=0001-01-01&to={d0}", {"from"}),
        ("from={d0}&to=9999-12-31", {"to"}),
        ("date={d800}", {"date"}),  # more than two years ahead
        ("page=0", None),
    ],
)
def test_the_agenda_refuses_what_it_cannot_read(world, api_as, query, fields):
    # {dN}: N days from today (the window is two years either side of the doctor's today).
    today = timezone.now().date()
    query = query.format(**{f"d{n}": today + dt.timedelta(days=n) for n in (0, 1, 9, 31, 800)})
    response = api_as("doctor").get(f"/api/v1/agenda/?{query}")
    if fields is None:
        assert response.status_code == 404  # a page that is not there
    else:
        assert response.status_code == 400, response.content
        assert set(response.json()["error"]["fields"]) == fields


def test_the_agenda_shows_the_days_visits_on_the_doctors_calendar(world, api_as):
    # 23:30 UTC is 08:30 the next day in Tokyo: the visit is on the doctor's next day.
    day = (timezone.now() + dt.timedelta(days=10)).date()
    late = dt.datetime.combine(day, dt.time(23, 30), tzinfo=dt.UTC)
    on_the_day = visit_now(world, starts_at=late)
    visit_now(world, S.CANCELED, starts_at=late + dt.timedelta(hours=1))  # its time is free again
    visit(doctor=world.other_doctor, starts_at=late)  # someone else's

    next_day = (day + dt.timedelta(days=1)).isoformat()
    listed = api_as("doctor").get(f"/api/v1/agenda/?date={next_day}").json()
    assert [row["id"] for row in listed["results"]] == [on_the_day.pk]
    assert listed["results"][0]["starts_at"] == f"{next_day}T08:30:00+09:00"
    assert api_as("doctor").get(f"/api/v1/agenda/?date={day.isoformat()}").json()["count"] == 0

    span = api_as("doctor").get(f"/api/v1/agenda/?from={local_day(timezone.now())}&to={next_day}").json()
    assert [row["id"] for row in span["results"]] == [world.visit.pk, on_the_day.pk]


def test_the_agenda_defaults_to_today_on_the_doctors_calendar(world, api_as):
    today = visit_now(world)
    listed = api_as("doctor").get("/api/v1/agenda/").json()
    expected = [today.pk] if local_day(today.slot.starts_at) == local_day(timezone.now()) else []
    assert [row["id"] for row in listed["results"]] == expected


def _agenda_queries(client, day: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/agenda/?date={day}")
    assert response.status_code == 200
    return len(queries), response.json()["count"]


def test_the_agenda_costs_the_same_queries_at_2_and_12_visits(world, api_as):
    day = (timezone.now() + dt.timedelta(days=20)).date()
    first = dt.datetime.combine(day, dt.time(1, 0), tzinfo=dt.UTC)  # 10:00 in Tokyo
    client = api_as("doctor")
    client.get("/api/v1/me/")  # the token's "last used" is written once a minute: not in what is counted
    for n in range(2):
        visit(doctor=world.doctor, starts_at=first + dt.timedelta(minutes=30 * n))
    at_two = _agenda_queries(client, day.isoformat())
    for n in range(2, 12):
        visit(doctor=world.doctor, starts_at=first + dt.timedelta(minutes=30 * n))
    at_twelve = _agenda_queries(client, day.isoformat())
    assert (at_two[1], at_twelve[1]) == (2, 12)
    assert at_two[0] == at_twelve[0]


def test_the_api_and_the_page_refuse_a_too_long_note_or_addendum_in_the_same_words(world, api_as, client):
    """The API's note and addendum are the page's forms (VisitNoteForm, AddendumForm): one limit, one message."""
    from django.urls import reverse

    doctor = api_as("doctor")
    client.force_login(world.doctor.user)
    in_progress = visit_now(world, S.IN_PROGRESS, starts_at=_soon() - dt.timedelta(hours=1))
    signed = completed_with_note(world)
    for api, page, url, limit in (
        (doctor.put, "appointments:visit_note", f"/api/v1/visits/{in_progress.pk}/note/", 20000),
        (doctor.post, "appointments:visit_note_addendum", f"/api/v1/visits/{signed.pk}/note/addenda/", 5000),
    ):
        said = f"Ensure this value has at most {limit} characters (it has {limit + 1})."
        response = api(url, {"text": "x" * (limit + 1)}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"text": [said]}
        name = "addendum-text" if "addendum" in page else "text"
        shown = client.post(
            reverse(page, args=[in_progress.pk if page.endswith("note") else signed.pk]), {name: "x" * (limit + 1)}
        )
        assert shown.status_code == 400 and said in shown.text
    completing = doctor.post(f"/api/v1/visits/{in_progress.pk}/complete/", {"note": "x" * 20001}, format="json")
    assert completing.json()["error"]["fields"] == {
        "note": ["Ensure this value has at most 20000 characters (it has 20001)."]
    }
    blank = doctor.post(f"/api/v1/visits/{signed.pk}/note/addenda/", {"text": "   "}, format="json")
    assert blank.json()["error"]["fields"] == {"text": ["This field is required."]}
    assert not VisitNote.objects.filter(appointment=in_progress).exclude(text="").exists()
    assert signed.visit_note.addenda.count() == 0
    in_progress.refresh_from_db()
    assert in_progress.status == S.IN_PROGRESS
