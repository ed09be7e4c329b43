"""The appointment page as the appointment's own doctor reads it: the patient, their earlier visits
with this doctor only, the payment's state, the note and only the actions open now."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from accounts.models import PatientProfile
from appointments.models import Appointment, AppointmentStatus
from appointments.selectors import age_on
from appointments.services import appointment_complete, visit_note_add_addendum, visit_note_save_draft
from hospital.models import AuditAction, AuditEntry
from tests.factories import DoctorFactory, PatientFactory, UserFactory, visit
from tests.html_checks import link_hrefs

pytestmark = pytest.mark.django_db

S = AppointmentStatus
UTC = dt.UTC
STARTS_AT = dt.datetime(2026, 6, 1, 8, 30, tzinfo=UTC)  # Monday 09:30 BST


@pytest.fixture
def doctor():
    return DoctorFactory(user=UserFactory(role="doctor", first_name="Amara", last_name="Okafor"))


@pytest.fixture
def patient():
    return PatientFactory(first_name="Pat", last_name="Patel")  # born 17 May 1990


def page_at(client, appointment: Appointment, moment: dt.datetime = STARTS_AT):
    client.force_login(appointment.doctor.user)
    with time_machine.travel(moment, tick=False):
        return client.get(reverse("appointments:detail", args=[appointment.pk]))


def visit_url(appointment: Appointment, action: str) -> str:
    return reverse("appointments:visit_action", args=[appointment.pk, action])


def test_shows_the_patient_their_age_on_the_visit_day_the_reason_and_the_payment(client, doctor, patient):
    appointment = visit(doctor=doctor, patient=patient, starts_at=STARTS_AT, reason="Chest tightness when running")

    response = page_at(client, appointment)

    assert response.status_code == 200
    text = response.text
    assert "Pat Patel" in text
    assert "Age 36 at this visit" in text
    assert "17 May 1990" in text
    assert "Chest tightness when running" in text
    assert "Monday 1 June 2026, 09:30–10:00 BST" in text
    assert "<dt>Payment</dt><dd>Paid</dd>" in text
    assert link_hrefs(text, "Appointments") == [reverse("portal:appointments")]  # the breadcrumb leads back


def test_a_patient_without_a_date_of_birth_on_record_reads_so(client, doctor):
    patient = UserFactory(first_name="No", last_name="Profile")
    assert not PatientProfile.objects.filter(user=patient).exists()
    response = page_at(client, visit(doctor=doctor, patient=patient, starts_at=STARTS_AT))
    assert "Age not on record" in response.text


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (dt.date(1990, 6, 1), dt.date(2026, 6, 1), 36),
        (dt.date(1990, 6, 2), dt.date(2026, 6, 1), 35),
        (dt.date(2000, 2, 29), dt.date(2026, 2, 28), 25),
        (dt.date(2000, 2, 29), dt.date(2026, 3, 1), 26),
    ],
)
def test_age_counts_whole_years(born, day, age):
    assert age_on(born, day) == age


def test_earlier_visits_are_this_patients_with_this_doctor_only(client, doctor, patient):
    appointment = visit(doctor=doctor, patient=patient, starts_at=STARTS_AT)
    visit(doctor=doctor, patient=patient, status=S.COMPLETED, starts_at=dt.datetime(2026, 3, 2, 10, tzinfo=UTC))
    visit(doctor=doctor, patient=patient, status=S.NO_SHOW, starts_at=dt.datetime(2026, 4, 6, 10, tzinfo=UTC))
    visit(doctor=doctor, patient=patient, status=S.CANCELED, starts_at=dt.datetime(2026, 5, 4, 10, tzinfo=UTC))
    visit(doctor=DoctorFactory(), patient=patient, status=S.COMPLETED, starts_at=dt.datetime(2026, 2, 2, tzinfo=UTC))
    visit(doctor=doctor, status=S.COMPLETED, starts_at=dt.datetime(2026, 1, 5, 10, tzinfo=UTC))  # someone else
    later = visit(doctor=doctor, patient=patient, starts_at=dt.datetime(2026, 7, 6, 10, tzinfo=UTC))

    text = page_at(client, appointment).text

    section = text.split('id="earlier-heading"')[1].split("</section>")[0]
    assert section.count("<li>") == 2
    assert section.index("6 Apr 2026") < section.index("2 Mar 2026")  # latest first
    assert "No-show" in section and "Completed" in section
    for absent in ("4 May 2026", "2 Feb 2026", "5 Jan 2026", reverse("appointments:detail", args=[later.pk])):
        assert absent not in section


def test_a_first_visit_says_so(client, doctor, patient):
    text = page_at(client, visit(doctor=doctor, patient=patient, starts_at=STARTS_AT)).text
    assert "This is the patient's first visit with you." in text


def test_opening_the_page_records_the_doctors_view_of_the_patients_history(client, doctor, patient):
    appointment = visit(doctor=doctor, patient=patient, starts_at=STARTS_AT)

    page_at(client, appointment)

    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.patient) == (doctor.user, AuditAction.READ, patient)
    assert (entry.record_type, entry.record_id) == ("appointments.appointment", str(appointment.pk))
    assert entry.ip_address == "127.0.0.1"


# -- only the actions open now -----------------------------------------------------------------


def buttons(response) -> set[str]:
    appointment_pk = response.context["appointment"].pk
    return {
        action
        for action in ("start", "complete", "no_show")
        if f'action="{reverse("appointments:visit_action", args=[appointment_pk, action])}"' in response.text
        or f'formaction="{reverse("appointments:visit_action", args=[appointment_pk, action])}"' in response.text
    }


def test_a_confirmed_visit_long_before_its_start_offers_nothing_and_says_when_it_opens(client, doctor):
    response = page_at(client, visit(doctor=doctor, starts_at=STARTS_AT), STARTS_AT - dt.timedelta(hours=2))
    assert buttons(response) == set()
    assert "You can start this visit from 09:15 BST (Europe/London)." in response.text


def test_a_confirmed_visit_fifteen_minutes_before_offers_start_only(client, doctor):
    response = page_at(client, visit(doctor=doctor, starts_at=STARTS_AT), STARTS_AT - dt.timedelta(minutes=15))
    assert buttons(response) == {"start"}
    assert "Start visit" in response.text


def test_a_confirmed_visit_after_its_start_offers_start_and_no_show(client, doctor):
    response = page_at(client, visit(doctor=doctor, starts_at=STARTS_AT), STARTS_AT + dt.timedelta(minutes=1))
    assert buttons(response) == {"start", "no_show"}


def test_an_unpaid_confirmed_visit_offers_no_start_and_says_why(client, doctor):
    response = page_at(client, visit(doctor=doctor, paid=False, starts_at=STARTS_AT))
    assert buttons(response) == {"no_show"}
    assert "This visit is not paid, so it cannot start." in response.text


def test_a_visit_in_progress_offers_the_note_and_completing_it(client, doctor):
    response = page_at(client, visit(doctor=doctor, status=S.IN_PROGRESS, starts_at=STARTS_AT))
    assert buttons(response) == {"complete"}
    assert "Save draft" in response.text
    assert "Sign note and complete visit" in response.text


@pytest.mark.parametrize("status", [S.COMPLETED, S.NO_SHOW, S.CANCELED, S.EXPIRED, S.PENDING_PAYMENT])
def test_a_settled_visit_offers_no_action(client, doctor, status):
    assert buttons(page_at(client, visit(doctor=doctor, status=status, starts_at=STARTS_AT))) == set()


def test_a_completed_paid_visit_offers_its_doctor_a_prescription(client, doctor):
    response = page_at(client, visit(doctor=doctor, status=S.COMPLETED, starts_at=STARTS_AT))
    assert "Write prescription" in response.text


def test_a_visit_not_yet_completed_says_why_no_prescription_can_be_written(client, doctor):
    response = page_at(client, visit(doctor=doctor, starts_at=STARTS_AT))
    assert "Write prescription" not in response.text
    assert "Prescriptions" in response.text


# -- fixed query count -------------------------------------------------------------------------


def completed_with_history(doctor, patient, *, earlier: int, addenda: int) -> Appointment:
    for weeks in range(1, earlier + 1):
        visit(doctor=doctor, patient=patient, status=S.COMPLETED, starts_at=STARTS_AT - dt.timedelta(weeks=weeks))
    appointment = visit(doctor=doctor, patient=patient, status=S.IN_PROGRESS, starts_at=STARTS_AT)
    visit_note_save_draft(appointment_id=appointment.pk, doctor=doctor.user, text="Seen.", now=STARTS_AT)
    appointment_complete(appointment_id=appointment.pk, doctor=doctor.user, now=STARTS_AT)
    for n in range(addenda):
        visit_note_add_addendum(appointment_id=appointment.pk, doctor=doctor.user, text=f"Addendum {n}.", now=STARTS_AT)
    return appointment


@pytest.mark.parametrize(("earlier", "addenda"), [(1, 1), (12, 6)])
def test_the_page_costs_the_same_queries_whatever_the_history(
    client, doctor, patient, django_assert_num_queries, earlier, addenda
):
    appointment = completed_with_history(doctor, patient, earlier=earlier, addenda=addenda)
    client.force_login(doctor.user)
    url = reverse("appointments:detail", args=[appointment.pk])
    # session, user, the second factor's device, the appointment (patient, profile, payment, note,
    # paid), its timeline, the earlier visits, the addenda, two audit entries (history and note) in their savepoint, the
    # header's link to the doctor's public page, and the prescriptions section (its rows, and
    # whether the visit is paid, which decides whether one may be written)
    with django_assert_num_queries(14):
        response = client.get(url)
    assert response.text.count('class="addendum"') == addenda
