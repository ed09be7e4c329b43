"""The PDF a patient downloads, read back as text (pypdf): the hospital, the people, the items, the
number and code, and every time on the doctor's clock with the zone named."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from tests.factories import DoctorFactory, PatientFactory, UserFactory, visit
from tests.prescriptions.conftest import AMOXICILLIN, SALBUTAMOL, issue

pytestmark = pytest.mark.django_db


def pdf_text(client, prescription) -> str:
    client.force_login(prescription.patient)
    response = client.get(reverse("prescriptions:pdf", args=[prescription.pk]))
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.mark.parametrize(
    ("zone", "visit_utc", "issued_utc", "visit_text", "issued_text"),
    [
        (
            "Asia/Tokyo",
            dt.datetime(2026, 6, 1, 23, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 6, 1, 23, 40, tzinfo=dt.UTC),
            "Tuesday 2 June 2026, 08:00 JST (Asia/Tokyo)",
            "Tuesday 2 June 2026, 08:40 JST (Asia/Tokyo)",
        ),
        (
            "America/New_York",
            dt.datetime(2026, 6, 2, 0, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 6, 2, 0, 25, tzinfo=dt.UTC),
            "Monday 1 June 2026, 20:00 EDT (America/New_York)",
            "Monday 1 June 2026, 20:25 EDT (America/New_York)",
        ),
    ],
)
def test_the_pdf_holds_the_items_number_code_and_times_in_the_doctors_zone(
    client, zone, visit_utc, issued_utc, visit_text, issued_text
):
    doctor = DoctorFactory(user=UserFactory(first_name="Ana", last_name="Ruiz", role="doctor"), timezone=zone)
    patient = PatientFactory(first_name="Pat", last_name="Lee")
    appointment = visit(status="completed", doctor=doctor, patient=patient, starts_at=visit_utc)
    prescription = issue(
        appointment,
        items=[AMOXICILLIN, SALBUTAMOL],
        now=issued_utc,
        follow_up_on=dt.date(2026, 6, 9),
        general_advice="Rest and drink plenty of fluids.",
    )

    text = pdf_text(client, prescription)

    for expected in (
        "Northbridge Hospital",
        "PRESCRIPTION",
        prescription.number,
        prescription.verification_code_display,
        "Dr Ana Ruiz",
        "Pat Lee",
        "Date of birth: 17 May 1990",
        f"Issued {issued_text}",
        f"Visit {visit_text}",
        "Amoxicillin 500 mg",
        "1 capsule",
        "By mouth",
        "3 times a day",
        "7 days",
        "after food",
        "Salbutamol inhaler 100 micrograms",
        "2 puffs",
        "Inhaled",
        "Rest and drink plenty of fluids.",
        "Tuesday 9 June 2026",
        "/prescriptions/verify/",
    ):
        assert expected in text, f"{expected!r} not in the PDF's text:\n{text}"
    assert "UTC" not in text


def test_a_superseded_prescriptions_pdf_says_so_and_the_correction_names_what_it_replaces(client, prescription):
    correction = issue(prescription.appointment, supersedes=prescription)

    assert f"SUPERSEDED: replaced by {correction.number}. Do not dispense this version." in pdf_text(
        client, prescription
    )
    assert f"corrects and replaces {prescription.number}" in pdf_text(client, correction)
