"""The doctor writes a prescription in the page (no JavaScript), the patient reads it; the list,
the appointment section and the public verification page."""

import datetime as dt
import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from hospital import timefmt
from hospital.models import AuditAction, AuditEntry
from prescriptions.models import Prescription
from prescriptions.selectors import prescriptions_for_appointment
from tests.factories import PatientFactory, visit
from tests.html_checks import assert_labels_name_fields, link_hrefs
from tests.prescriptions.conftest import AMOXICILLIN, SALBUTAMOL, issue, tomorrow_in

pytestmark = pytest.mark.django_db


def form_data(rows, *, total=None, **fields) -> dict:
    """What the write page posts: the management form, each row's fields, the advice fields."""
    data = {
        "items-TOTAL_FORMS": str(total if total is not None else len(rows)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "20",
        "general_advice": fields.get("general_advice", ""),
        "follow_up_on": fields.get("follow_up_on", ""),
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"items-{index}-{name}"] = str(value)
    return data


EMPTY_ROW = {"route": "oral"}  # an untouched row: the route menu is pre-chosen


@pytest.fixture
def doctor_client(client, completed_visit):
    client.force_login(completed_visit.doctor.user)
    return client


def write_url(appointment) -> str:
    return reverse("prescriptions:write", args=[appointment.pk])


def test_the_write_page_offers_three_labelled_empty_rows(doctor_client, completed_visit):
    page = doctor_client.get(write_url(completed_visit))
    assert page.status_code == 200
    assert_labels_name_fields(page.text)
    assert page.text.count("<legend>Medicine ") == 3
    assert "Pat Lee" in page.text and "(Asia/Tokyo)" in page.text
    assert 'name="add_item"' in page.text


def test_add_another_item_shows_what_was_typed_and_one_more_row_without_errors(doctor_client, completed_visit):
    typed = form_data([AMOXICILLIN, {**EMPTY_ROW, "medicine": "Half-typed"}, EMPTY_ROW], general_advice="Rest.")
    page = doctor_client.post(write_url(completed_visit), {**typed, "add_item": "1"})

    assert page.status_code == 200
    assert page.text.count("<legend>Medicine ") == 4
    assert 'value="Amoxicillin"' in page.text and 'value="Half-typed"' in page.text
    assert "Rest." in page.text
    assert "field-errors" not in page.text and 'role="alert"' not in page.text
    assert_labels_name_fields(page.text)
    assert Prescription.objects.count() == 0


def test_the_doctor_issues_it_and_reads_it(doctor_client, completed_visit):
    follow_up = tomorrow_in("Asia/Tokyo")
    data = form_data([AMOXICILLIN, EMPTY_ROW, SALBUTAMOL], general_advice="Rest.", follow_up_on=follow_up.isoformat())
    response = doctor_client.post(write_url(completed_visit), data, follow=True)

    prescription = Prescription.objects.get()
    assert response.redirect_chain[-1][0] == reverse("prescriptions:detail", args=[prescription.pk])
    assert f"Prescription {prescription.number} issued" in response.text
    assert [item.medicine for item in prescription.items.all()] == ["Amoxicillin", "Salbutamol inhaler"]
    assert prescription.follow_up_on == follow_up
    assert "Amoxicillin" in response.text and "500 mg" in response.text and "Under the tongue" not in response.text
    assert prescription.verification_code_display in response.text


def test_a_double_submit_issues_once(doctor_client, completed_visit):
    data = form_data([AMOXICILLIN])
    doctor_client.post(write_url(completed_visit), data)
    again = doctor_client.post(write_url(completed_visit), data, follow=True)

    prescription = Prescription.objects.get()
    assert again.redirect_chain[-1][0] == reverse("prescriptions:detail", args=[prescription.pk])
    assert "was already issued for this visit" in again.text


def test_a_row_missing_its_dose_is_shown_with_the_error_and_nothing_is_issued(doctor_client, completed_visit):
    page = doctor_client.post(write_url(completed_visit), form_data([{**AMOXICILLIN, "dose": ""}]))
    assert page.status_code == 200
    assert "This field is required." in page.text
    assert 'value="Amoxicillin"' in page.text
    assert Prescription.objects.count() == 0


def test_no_medicine_at_all_is_an_error(doctor_client, completed_visit):
    page = doctor_client.post(write_url(completed_visit), form_data([EMPTY_ROW, EMPTY_ROW, EMPTY_ROW]))
    assert "Add at least one medicine" in page.text
    assert Prescription.objects.count() == 0


def test_a_past_follow_up_date_is_a_field_error(doctor_client, completed_visit):
    yesterday = tomorrow_in("Asia/Tokyo") - dt.timedelta(days=2)
    page = doctor_client.post(write_url(completed_visit), form_data([AMOXICILLIN], follow_up_on=yesterday.isoformat()))
    assert "The follow-up date is in the past" in page.text
    assert Prescription.objects.count() == 0


@pytest.mark.parametrize(("status", "paid"), [("confirmed", True), ("in_progress", True), ("completed", False)])
def test_a_visit_not_ready_shows_why_and_a_post_writes_nothing(client, rx_doctor, status, paid):
    appointment = visit(status=status, paid=paid, doctor=rx_doctor)
    client.force_login(rx_doctor.user)
    page = client.get(write_url(appointment))
    assert "No prescription can be written for this visit" in page.text
    assert "<legend>" not in page.text
    posted = client.post(write_url(appointment), form_data([AMOXICILLIN]))
    assert posted.status_code == 409
    assert Prescription.objects.count() == 0


def test_a_correction_starts_from_the_old_rows_and_supersedes_it(doctor_client, prescription):
    correct_url = reverse("prescriptions:correct", args=[prescription.pk])
    page = doctor_client.get(correct_url)
    assert page.status_code == 200
    assert 'value="Amoxicillin"' in page.text and 'value="Salbutamol inhaler"' in page.text
    assert page.text.count("<legend>Medicine ") == 3  # its two and one empty

    response = doctor_client.post(correct_url, form_data([{**AMOXICILLIN, "quantity": 15}]), follow=True)
    correction = Prescription.objects.exclude(pk=prescription.pk).get()
    assert correction.supersedes == prescription
    assert f"it replaces {prescription.number}" in response.text

    old = doctor_client.get(reverse("prescriptions:detail", args=[prescription.pk]))
    assert "Replaced by a correction" in old.text and correction.number in old.text
    assert "Write a correction" not in old.text
    # The old form submitted again lands on the current version.
    again = doctor_client.post(correct_url, form_data([AMOXICILLIN]), follow=True)
    assert again.redirect_chain[-1][0] == reverse("prescriptions:detail", args=[correction.pk])
    assert Prescription.objects.count() == 2


def test_the_patient_reads_theirs_and_each_read_is_audited(client, prescription):
    client.force_login(prescription.patient)
    listing = client.get(reverse("prescriptions:list"))
    assert prescription.number in listing.text and "Dr Kenji Sato" in listing.text
    assert "Amoxicillin" not in listing.text  # the list names no medicine: reading one is audited
    detail_url = reverse("prescriptions:detail", args=[prescription.pk])
    assert link_hrefs(listing.text, prescription.number) == [detail_url]

    page = client.get(detail_url)
    assert page.status_code == 200
    assert "Amoxicillin" in page.text and "Write a correction" not in page.text
    visit_url = reverse("appointments:detail", args=[prescription.appointment_id])
    visit_day = timefmt.format_short(prescription.appointment.slot.starts_at, "Asia/Tokyo")
    assert link_hrefs(page.text, visit_day) == [visit_url]  # back to the visit's page
    assert page.headers["Cache-Control"].startswith("max-age=0")
    entry = AuditEntry.objects.get(action=AuditAction.READ)
    assert (entry.actor, entry.patient) == (prescription.patient, prescription.patient)
    assert entry.record_id == str(prescription.pk)


def test_the_list_page_costs_the_same_queries_for_few_and_many(
    client, rx_doctor, rx_patient, django_assert_num_queries
):
    client.force_login(rx_patient)
    for _ in range(2):
        issue(visit(status="completed", doctor=rx_doctor, patient=rx_patient))
    with django_assert_num_queries(4):  # session, user, count, the page's rows
        client.get(reverse("prescriptions:list"))
    for _ in range(12):
        issue(visit(status="completed", doctor=rx_doctor, patient=rx_patient))
    with django_assert_num_queries(4):
        page = client.get(reverse("prescriptions:list"))
    assert "14 prescriptions" in page.text and "Page 1 of 2" in page.text


def test_the_detail_page_reads_in_fixed_queries(client, prescription, django_assert_num_queries):
    client.force_login(prescription.patient)
    # session, user, the prescription with its people, its items, the audit entry
    with django_assert_num_queries(5):
        client.get(reverse("prescriptions:detail", args=[prescription.pk]))


def test_the_pdf_downloads_as_an_attachment_and_is_audited(client, prescription):
    client.force_login(prescription.patient)
    response = client.get(reverse("prescriptions:pdf", args=[prescription.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{prescription.number}.pdf"'
    assert response.content.startswith(b"%PDF-")
    assert AuditEntry.objects.filter(action=AuditAction.DOWNLOAD, record_id=str(prescription.pk)).count() == 1


# -- the appointment page's section --------------------------------------------------------------


def section_html(appointment, user) -> str:
    return render_to_string(
        "prescriptions/includes/appointment_section.html",
        {"prescriptions": prescriptions_for_appointment(appointment=appointment, user=user)},
    )


def test_the_section_offers_the_doctor_to_write_then_to_correct(completed_visit):
    doctor = completed_visit.doctor.user
    assert link_hrefs(section_html(completed_visit, doctor), "Write prescription") == [write_url(completed_visit)]
    prescription = issue(completed_visit)
    html = section_html(completed_visit, doctor)
    assert link_hrefs(html, "Write prescription") == []
    assert link_hrefs(html, "Write a correction") == [reverse("prescriptions:correct", args=[prescription.pk])]
    assert link_hrefs(html, prescription.number) == [reverse("prescriptions:detail", args=[prescription.pk])]


def test_the_section_tells_the_doctor_why_not_yet(rx_doctor):
    appointment = visit(status="in_progress", doctor=rx_doctor)
    html = section_html(appointment, rx_doctor.user)
    assert "once the visit is completed" in html
    assert link_hrefs(html, "Write prescription") == []


def test_the_section_lists_the_patients_own_with_no_write_link(prescription):
    html = section_html(prescription.appointment, prescription.patient)
    assert link_hrefs(html, prescription.number) == [reverse("prescriptions:detail", args=[prescription.pk])]
    assert "Write" not in html


def test_the_section_shows_nothing_to_staff(prescription, staff):
    assert section_html(prescription.appointment, staff).strip() == ""


def test_the_section_costs_two_queries_for_the_doctor_however_many_versions(completed_visit, django_assert_num_queries):
    from appointments.models import Appointment

    prescription = issue(completed_visit)
    appointment = Appointment.objects.select_related("doctor").get(pk=completed_visit.pk)
    with django_assert_num_queries(2):  # the rows, is it paid
        prescriptions_for_appointment(appointment=appointment, user=completed_visit.doctor.user)
    issue(completed_visit, supersedes=issue(completed_visit, supersedes=prescription))
    with django_assert_num_queries(2):
        section = prescriptions_for_appointment(appointment=appointment, user=completed_visit.doctor.user)
    assert [row.status.label for row in section.rows] == ["Current", "Superseded", "Superseded"]


# -- verification ------------------------------------------------------------------------------


VERIFY = "/prescriptions/verify/"


def verdict_of(client, number, code) -> str:
    page = client.post(VERIFY, {"number": number, "code": code})
    found = re.search(r'<h2 id="verdict-heading">(\w+)</h2>', page.text)
    return found.group(1) if found else page.text


def test_the_verification_page_says_valid_superseded_or_unknown_and_nothing_else(client, prescription):
    page = client.get(VERIFY)
    assert page.status_code == 200
    assert_labels_name_fields(page.text)

    valid = client.post(VERIFY, {"number": prescription.number, "code": prescription.verification_code_display})
    assert '<h2 id="verdict-heading">Valid</h2>' in valid.text
    for private in ("Amoxicillin", "Pat", "Lee", "Sato", "Kenji"):
        assert private not in valid.text.split('id="verdict-heading"')[1]

    typed_by_hand = prescription.verification_code.lower()
    assert verdict_of(client, f" {prescription.number.lower()} ", typed_by_hand) == "Valid"
    wrong_code = ("0" if prescription.verification_code[0] != "0" else "1") + prescription.verification_code[1:]
    assert verdict_of(client, prescription.number, wrong_code) == "Unknown"
    assert verdict_of(client, "RX-1999-000001", prescription.verification_code) == "Unknown"

    correction = issue(prescription.appointment, supersedes=prescription)
    assert verdict_of(client, prescription.number, prescription.verification_code) == "Superseded"
    assert verdict_of(client, correction.number, correction.verification_code) == "Valid"


@pytest.mark.parametrize(
    ("number", "code", "error"),
    [
        ("", "", "This field is required."),
        ("12345", "ABCD-EFGH-JKMN", "Enter the number as printed"),
        ("RX-2026-000001", "ABC", "Enter the twelve-character code"),
        ("RX-2026-000001", "ABCD-EFGH-JKM!", "Enter the twelve-character code"),
        ("RX-2026-000001" * 5, "ABCD-EFGH-JKMN", "at most 30 characters"),
    ],
)
def test_bad_input_on_the_verification_page_is_a_form_error(client, number, code, error):
    page = client.post(VERIFY, {"number": number, "code": code})
    assert page.status_code == 200
    assert error in page.text
    assert 'id="verdict-heading"' not in page.text


def test_the_verification_page_is_rate_limited_per_address(client, prescription, settings):
    settings.PRESCRIPTION_VERIFY_RATE_LIMIT_PER_HOUR = 3
    for _ in range(3):
        assert verdict_of(client, prescription.number, "0000-0000-0000") == "Unknown"
    page = client.post(VERIFY, {"number": prescription.number, "code": prescription.verification_code})
    assert page.status_code == 429
    assert "Too many checks" in page.text and 'id="verdict-heading"' not in page.text
    other_address = client.post(
        VERIFY, {"number": prescription.number, "code": prescription.verification_code}, REMOTE_ADDR="198.51.100.4"
    )
    assert '<h2 id="verdict-heading">Valid</h2>' in other_address.text


def test_patients_and_doctors_find_prescriptions_in_the_menu(client, rx_doctor):
    for user in (PatientFactory(), rx_doctor.user):
        client.force_login(user)
        assert link_hrefs(client.get("/").text, "Prescriptions") == [reverse("prescriptions:list")]
