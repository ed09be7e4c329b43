"""The doctor's side of the status machine, enforced on the server: start, complete and no-show
through the one endpoint, for every state and every kind of visitor, with the times they open at."""

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from appointments.models import Appointment, AppointmentLogEntry, AppointmentStatus
from appointments.services import (
    ALLOWED_TRANSITIONS,
    DOCTOR_ACTION_TRANSITIONS,
    AppointmentTransitionError,
    appointment_start,
)
from appointments.visit_actions import DoctorAction
from payments.models import DisputeStatus
from tests.factories import DoctorFactory, StaffFactory, UserFactory, visit

pytestmark = pytest.mark.django_db

S = AppointmentStatus
UTC = dt.UTC
# Monday 1 June 2026; the visit is at 09:30 BST (08:30 UTC) with a doctor in London.
STARTS_AT = dt.datetime(2026, 6, 1, 8, 30, tzinfo=UTC)


def london_visit(*, status=S.CONFIRMED, paid=True, starts_at=STARTS_AT) -> Appointment:
    doctor = DoctorFactory(user=UserFactory(role="doctor", first_name="Amara", last_name="Okafor"))
    return visit(status=status, paid=paid, doctor=doctor, starts_at=starts_at)


def action_url(appointment: Appointment, action: str) -> str:
    return reverse("appointments:visit_action", args=[appointment.pk, action])


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def test_every_doctor_action_is_a_move_the_status_machine_allows():
    for action, (to, _) in DOCTOR_ACTION_TRANSITIONS.items():
        assert any(to in targets for targets in ALLOWED_TRANSITIONS.values()), action
    assert set(DOCTOR_ACTION_TRANSITIONS) == set(DoctorAction)


# -- every (state, action, role) ----------------------------------------------------------------

# The doctor's answer to each action in each state, five minutes after the visit's start (so
# start and no-show are both open by time) on a paid visit: the status it moves to, or the
# reason it is refused.
OWN_DOCTOR = {
    (S.CONFIRMED, "start"): S.IN_PROGRESS,
    (S.CONFIRMED, "complete"): "This visit has not started yet. Start it first.",
    (S.CONFIRMED, "no_show"): S.NO_SHOW,
    (S.IN_PROGRESS, "start"): "This visit has already started.",
    (S.IN_PROGRESS, "complete"): S.COMPLETED,
    (S.IN_PROGRESS, "no_show"): "This visit has already started: the patient came, so it cannot be a no-show.",
    **{(S.COMPLETED, action): "This visit is already completed." for action in DoctorAction.values},
    **{(S.NO_SHOW, action): "This visit is already marked as a no-show." for action in DoctorAction.values},
    **{(S.CANCELED, action): "This appointment was canceled." for action in DoctorAction.values},
    **{
        (S.EXPIRED, action): "This booking lapsed before it was paid; there is no visit."
        for action in DoctorAction.values
    },
    **{
        (S.PENDING_PAYMENT, action): "This booking is still awaiting payment; it is not a confirmed visit yet."
        for action in DoctorAction.values
    },
}
ROLES = ["own doctor", "other doctor", "patient", "staff"]
# Whoever is not the appointment's doctor changes nothing: another doctor is told the
# appointment does not exist, a patient or a staff member that the page is not for them.
OTHERS = {"other doctor": 404, "patient": 403, "staff": 403}


def test_the_table_covers_every_state_and_action():
    assert set(OWN_DOCTOR) == {(status, action) for status in S.values for action in DoctorAction.values}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("status", "action"), sorted(OWN_DOCTOR))
def test_state_action_role(client, status, action, role):
    appointment = london_visit(status=status, paid=status in (S.CONFIRMED, S.IN_PROGRESS, S.COMPLETED, S.NO_SHOW))
    visitor = {
        "own doctor": appointment.doctor.user,
        "other doctor": DoctorFactory().user,
        "patient": appointment.patient,
        "staff": StaffFactory(),
    }[role]
    client.force_login(visitor)
    log_before = AppointmentLogEntry.objects.filter(appointment=appointment).count()

    with time_machine.travel(STARTS_AT + dt.timedelta(minutes=5), tick=False):
        response = client.post(action_url(appointment, action))

    appointment.refresh_from_db()
    if role in OTHERS:
        assert response.status_code == OTHERS[role]
        assert appointment.status == status
        assert AppointmentLogEntry.objects.filter(appointment=appointment).count() == log_before
        return
    assert response.status_code == 302
    assert response.url == reverse("appointments:detail", args=[appointment.pk])
    expected = OWN_DOCTOR[(status, action)]
    if expected in S.values:
        assert appointment.status == expected
        assert messages_of(response)[0][0] == "success"
        assert AppointmentLogEntry.objects.filter(appointment=appointment).count() == log_before + 1
    else:
        assert appointment.status == status
        assert messages_of(response) == [("error", expected)]
        assert AppointmentLogEntry.objects.filter(appointment=appointment).count() == log_before


def test_a_visitor_who_is_not_signed_in_is_sent_to_log_in_and_nothing_changes(client):
    appointment = london_visit()
    response = client.post(action_url(appointment, "start"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED


def test_an_unknown_action_is_not_found(client):
    appointment = london_visit()
    client.force_login(appointment.doctor.user)
    assert client.post(action_url(appointment, "cancel")).status_code == 404
    assert client.get(action_url(appointment, "start")).status_code == 405
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED


def test_an_appointment_that_does_not_exist_is_not_found(client):
    client.force_login(DoctorFactory().user)
    assert client.post(reverse("appointments:visit_action", args=[987654, "start"])).status_code == 404


# -- where the doctor is sent back to -----------------------------------------------------------


def test_a_safe_next_address_is_where_the_doctor_returns(client):
    appointment = london_visit()
    client.force_login(appointment.doctor.user)
    with time_machine.travel(STARTS_AT, tick=False):
        response = client.post(action_url(appointment, "start"), {"next": "/doctor/today/?view=list"})
    assert response.url == "/doctor/today/?view=list"


def test_a_next_address_off_the_site_is_ignored(client):
    appointment = london_visit()
    client.force_login(appointment.doctor.user)
    with time_machine.travel(STARTS_AT, tick=False):
        response = client.post(action_url(appointment, "start"), {"next": "https://evil.example/"})
    assert response.url == reverse("appointments:detail", args=[appointment.pk])


# -- when each action opens -------------------------------------------------------------------


def post_at(client, appointment, action: str, moment: dt.datetime):
    client.force_login(appointment.doctor.user)
    with time_machine.travel(moment, tick=False):
        response = client.post(action_url(appointment, action))
    appointment.refresh_from_db()
    return messages_of(response)


def test_start_is_refused_until_fifteen_minutes_before_the_visit(client):
    appointment = london_visit()

    said = post_at(client, appointment, "start", dt.datetime(2026, 6, 1, 8, 14, 59, tzinfo=UTC))  # 09:14:59 BST

    assert said == [("error", "You can start this visit from 09:15 BST (Europe/London).")]
    assert appointment.status == S.CONFIRMED


def test_start_opens_fifteen_minutes_before_the_visit(client):
    appointment = london_visit()

    said = post_at(client, appointment, "start", dt.datetime(2026, 6, 1, 8, 15, tzinfo=UTC))

    assert said[0][0] == "success"
    assert appointment.status == S.IN_PROGRESS
    assert appointment.log_entries.last().message == "The doctor started the visit."


def test_start_names_the_day_when_the_visit_is_not_today(client):
    appointment = london_visit()

    said = post_at(client, appointment, "start", STARTS_AT - dt.timedelta(days=1))

    assert said == [("error", "You can start this visit from Mon 1 Jun, 09:15 BST (Europe/London).")]


def test_no_show_is_refused_before_the_start(client):
    appointment = london_visit()

    said = post_at(client, appointment, "no_show", STARTS_AT - dt.timedelta(seconds=1))

    assert said == [("error", "You can mark a no-show once the visit's time has come, from 09:30 BST (Europe/London).")]
    assert appointment.status == S.CONFIRMED


def test_no_show_opens_at_the_start(client):
    appointment = london_visit()

    post_at(client, appointment, "no_show", STARTS_AT)

    assert appointment.status == S.NO_SHOW


def test_a_confirmed_visit_that_is_not_paid_cannot_start(client):
    appointment = london_visit(paid=False)

    said = post_at(client, appointment, "start", STARTS_AT)

    assert said == [
        ("error", "This visit is not paid, so it cannot start. It can start once the payment has gone through.")
    ]
    assert appointment.status == S.CONFIRMED


def test_a_visit_whose_dispute_was_lost_no_longer_counts_as_paid(client):
    appointment = london_visit()
    appointment.payment.dispute_status = DisputeStatus.LOST
    appointment.payment.save()

    said = post_at(client, appointment, "start", STARTS_AT)

    assert said[0][1].startswith("This visit is not paid")
    assert appointment.status == S.CONFIRMED


def test_an_unpaid_visit_may_still_be_marked_a_no_show(client):
    appointment = london_visit(paid=False)
    post_at(client, appointment, "no_show", STARTS_AT)
    assert appointment.status == S.NO_SHOW


def test_the_service_refuses_another_doctor_as_if_the_appointment_did_not_exist():
    appointment = london_visit()
    with time_machine.travel(STARTS_AT, tick=False), pytest.raises(Appointment.DoesNotExist):
        appointment_start(appointment_id=appointment.pk, doctor=DoctorFactory().user)
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED


def test_a_refused_transition_changes_nothing():
    appointment = london_visit(status=S.COMPLETED)
    updated_at = appointment.updated_at
    with pytest.raises(AppointmentTransitionError, match="already completed"):
        appointment_start(appointment_id=appointment.pk, doctor=appointment.doctor.user, now=STARTS_AT)
    appointment.refresh_from_db()
    assert (appointment.status, appointment.updated_at) == (S.COMPLETED, updated_at)
    assert not appointment.log_entries.exists()
