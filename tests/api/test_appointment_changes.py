"""Cancel, reschedule and review of an appointment through the API: the same services as the
pages, their refusals as 409s with their messages, times on the (Tokyo) doctor's clock."""

import datetime as dt
import html

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import StaffGroup
from appointments.models import Appointment, AppointmentStatus, CancelReason, Review
from hospital.api.fields import in_zone
from hospital.models import Doctor, OutboundEmail
from payments.models import Payment, Refund, RefundReason, RefundStatus
from payments.services import refund_issue
from tests.api.conftest import client_with_token
from tests.api.matrix import Row, check_row
from tests.factories import PatientFactory, SlotFactory, StaffFactory, visit

pytestmark = pytest.mark.django_db

TOKYO = "Asia/Tokyo"


@pytest.fixture
def world(world):
    """The matrix's world, its visit's payment given the Stripe payment intent a real capture records
    (what a refund is made against: without one nothing is refundable)."""
    _with_intent(world.visit)
    return world


def _with_intent(appointment: Appointment) -> Appointment:
    Payment.objects.filter(appointment=appointment).update(payment_intent_id=f"pi_test_{appointment.pk}")
    return appointment


def _url(appointment, what: str) -> str:
    return f"/api/v1/appointments/{appointment.pk if hasattr(appointment, 'pk') else appointment}/{what}/"


def _hours_ahead(hours: float) -> dt.datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=hours)


def _free_slot(doctor, *, hours: float = 24 * 5):
    return SlotFactory(doctor=doctor, starts_at=_hours_ahead(hours))


def _completed_visit(w, *, paid: bool = True) -> Appointment:
    return visit(patient=w.patient, doctor=w.doctor, status="completed", paid=paid, starts_at=_hours_ahead(-48))


def _state(appointment: Appointment) -> tuple:
    """What a refused change must leave as it was."""
    appointment.refresh_from_db()
    return (
        appointment.status,
        appointment.slot_id,
        appointment.cancel_note,
        appointment.log_entries.count(),
        Refund.objects.count(),
        OutboundEmail.objects.count(),
        Review.objects.count(),
    )


# --- the permission matrix ------------------------------------------------------------------------

_PATIENT_ONLY = {"anonymous": 401, "other_patient": 404, "doctor": 403, "other_doctor": 403, "staff": 403}

ROWS = [
    # The patient, the visit's doctor and billing staff (their group has CANCEL_PERMISSION, as on
    # the appointment page's cancel box) may read the preview.
    Row(
        "get",
        lambda w: _url(w.visit, "cancellation"),
        {"anonymous": 401, "patient": 200, "other_patient": 404, "doctor": 200, "other_doctor": 404, "staff": 200},
    ),
    # No note: the doctor and staff must say why (400, nothing changed); the patient's cancel needs none.
    Row(
        "post",
        lambda w: _url(w.visit, "cancel"),
        {"anonymous": 401, "patient": 200, "other_patient": 404, "doctor": 400, "other_doctor": 404, "staff": 400},
        body={},
    ),
    Row("get", lambda w: _url(w.visit, "reschedule"), {**_PATIENT_ONLY, "patient": 200}),
    Row(
        "post",
        lambda w: _url(w.visit, "reschedule"),
        {**_PATIENT_ONLY, "patient": 200},
        body=lambda w: {"slot": _free_slot(w.doctor).pk},
    ),
    Row(
        "post",
        lambda w: _url(_completed_visit(w), "review"),
        {**_PATIENT_ONLY, "patient": 201},
        body={"rating": 4, "comment": "Kind and clear."},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path.__code__.co_consts[-1]}" for r in ROWS])
def test_permissions(world, api_as, row):
    check_row(world, row, api_as)


def test_staff_whose_group_may_not_cancel_get_403_and_nothing_changes(world):
    records = StaffFactory(email="records@example.com", is_superuser=False)
    records.groups.add(Group.objects.get(name=StaffGroup.CLINICAL_RECORDS))
    client = client_with_token(records)
    before = _state(world.visit)
    assert client.get(_url(world.visit, "cancellation")).status_code == 403
    response = client.post(_url(world.visit, "cancel"), {"note": "Closed."}, format="json")
    assert response.status_code == 403
    assert set(response.json()) == {"error"}
    assert _state(world.visit) == before


def test_an_id_that_is_not_a_number_is_400_and_an_unknown_one_404(api_as):
    client = api_as("patient")
    response = client.get("/api/v1/appointments/abc/cancellation/")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"id"}
    # Whole numbers that name nothing (0, past the largest id) are unknown ids: 404.
    assert client.post("/api/v1/appointments/0/cancel/", {}, format="json").status_code == 404
    assert client.get("/api/v1/appointments/99999999999999999999/reschedule/").status_code == 404
    assert client.get("/api/v1/appointments/999999/cancellation/").status_code == 404
    assert client.post("/api/v1/appointments/999999/review/", {"rating": 5}, format="json").status_code == 404


# --- the cancellation preview -----------------------------------------------------------------------


def test_the_patients_preview_three_days_ahead_is_a_full_refund_with_the_policy_on_the_doctors_clock(world, api_as):
    response = api_as("patient").get(_url(world.visit, "cancellation"))

    assert response.status_code == 200, response.content
    body = response.json()
    clock = Payment.objects.get(appointment=world.visit).refund_clock_at
    at = lambda hours: in_zone(clock - dt.timedelta(hours=hours), TOKYO)  # noqa: E731
    assert body == {
        "may_cancel": True,
        "refusal": None,
        "refund": {"amount": 8000, "currency": "jpy"},
        "refund_percent": 100,
        "paid": {"amount": 8000, "currency": "jpy"},
        "time_zone": TOKYO,
        "policy": [
            {"percent": 100, "amount": {"amount": 8000, "currency": "jpy"}, "after": None, "until": at(24)},
            {"percent": 50, "amount": {"amount": 4000, "currency": "jpy"}, "after": at(24), "until": at(2)},
            {"percent": 0, "amount": {"amount": 0, "currency": "jpy"}, "after": at(2), "until": None},
        ],
    }
    assert body["policy"][0]["until"].endswith("+09:00")


def test_ten_hours_ahead_the_patient_gets_half_and_the_doctor_everything(world, api_as):
    soon = _with_intent(visit(patient=world.patient, doctor=world.doctor, starts_at=_hours_ahead(10)))

    patients = api_as("patient").get(_url(soon, "cancellation")).json()
    doctors = api_as("doctor").get(_url(soon, "cancellation")).json()

    assert (patients["refund"], patients["refund_percent"]) == ({"amount": 4000, "currency": "jpy"}, 50)
    assert (doctors["refund"], doctors["refund_percent"]) == ({"amount": 8000, "currency": "jpy"}, 100)
    # The visit's policy, whoever asks; its amounts, and what was paid, only for who reads payments.
    assert [(w["percent"], w["until"]) for w in patients["policy"]] == [
        (w["percent"], w["until"]) for w in doctors["policy"]
    ]
    assert [w["amount"]["amount"] for w in patients["policy"]] == [8000, 4000, 0]
    assert {w["amount"] for w in doctors["policy"]} == {None} and doctors["paid"] is None


def test_front_desk_may_cancel_but_read_no_amounts_but_the_refund_their_cancel_gives(world):
    from django.contrib.auth.models import Group

    from accounts.models import StaffGroup
    from tests.factories import StaffFactory

    clerk = StaffFactory(email="desk@example.com", is_superuser=False)
    clerk.groups.add(Group.objects.get(name=StaffGroup.FRONT_DESK))
    body = client_with_token(clerk).get(_url(world.visit, "cancellation")).json()

    assert body["may_cancel"] is True
    assert body["refund"] == {"amount": 8000, "currency": "jpy"}  # as the page's message after canceling
    assert body["paid"] is None and {w["amount"] for w in body["policy"]} == {None}


def test_a_canceled_visit_shows_why_it_cannot_be_canceled(world, api_as):
    Appointment.objects.filter(pk=world.visit.pk).update(status=AppointmentStatus.CANCELED)

    body = api_as("patient").get(_url(world.visit, "cancellation")).json()

    assert body["may_cancel"] is False
    assert body["refusal"] == "An appointment that is canceled cannot be canceled."
    assert body["refund"] is None
    assert body["paid"] == {"amount": 8000, "currency": "jpy"}


# --- canceling ----------------------------------------------------------------------------------------


def test_the_patient_cancels_is_refunded_and_emailed_and_a_second_cancel_is_409_changing_nothing(world, api_as):
    client = api_as("patient")

    response = client.post(_url(world.visit, "cancel"), {}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["refund"] == {"amount": 8000, "currency": "jpy"}
    appointment = body["appointment"]
    assert (appointment["id"], appointment["status"], appointment["cancel_reason"]) == (
        world.visit.pk,
        AppointmentStatus.CANCELED,
        CancelReason.PATIENT,
    )
    assert appointment["starts_at"] == in_zone(world.visit.slot.starts_at, TOKYO)
    assert appointment["starts_at"].endswith("+09:00")
    refund = Refund.objects.get(payment__appointment=world.visit)
    assert (refund.amount, refund.currency, refund.reason, refund.requested_by) == (
        8000,
        "jpy",
        RefundReason.PATIENT_CANCELED,
        world.patient,
    )
    email = OutboundEmail.objects.get(key=f"appointment-canceled:{world.visit.pk}")
    assert email.to == "pat@example.com"

    before = _state(world.visit)
    again = client.post(_url(world.visit, "cancel"), {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "conflict",
        "message": "An appointment that is canceled cannot be canceled.",
        "fields": {},
    }
    assert _state(world.visit) == before


def test_the_doctor_must_say_why_and_then_cancels_in_full(world, api_as):
    client = api_as("doctor")
    before = _state(world.visit)

    blank = client.post(_url(world.visit, "cancel"), {"note": "   "}, format="json")
    assert blank.status_code == 400
    assert blank.json()["error"]["fields"] == {
        "note": ["Please say why, for the patient: they read it in their e-mail."]
    }
    assert _state(world.visit) == before

    response = client.post(_url(world.visit, "cancel"), {"note": "I am ill that day."}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["refund"] == {"amount": 8000, "currency": "jpy"}
    assert response.json()["appointment"]["cancel_reason"] == CancelReason.DOCTOR
    world.visit.refresh_from_db()
    assert world.visit.cancel_note == "I am ill that day."
    assert Refund.objects.get(payment__appointment=world.visit).reason == RefundReason.DOCTOR_CANCELED
    assert "I am ill that day." in OutboundEmail.objects.get(key=f"appointment-canceled:{world.visit.pk}").body


def test_billing_staff_cancel_for_the_hospital_in_full_even_an_hour_ahead(world, api_as):
    soon = _with_intent(visit(patient=world.patient, doctor=world.doctor, starts_at=_hours_ahead(1.5)))

    response = api_as("staff").post(_url(soon, "cancel"), {"note": "The clinic is closed."}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["refund"] == {"amount": 8000, "currency": "jpy"}
    assert response.json()["appointment"]["cancel_reason"] == CancelReason.STAFF
    assert Refund.objects.get(payment__appointment=soon).requested_by == world.staff


def test_a_started_visit_cannot_be_canceled_by_its_patient(world, api_as):
    started = visit(patient=world.patient, doctor=world.doctor, starts_at=_hours_ahead(-1))
    before = _state(started)

    response = api_as("patient").post(_url(started, "cancel"), {}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["message"] == "The visit has already started; please contact us."
    assert _state(started) == before


def test_a_note_longer_than_the_patients_email_holds_is_400(world, api_as):
    response = api_as("doctor").post(_url(world.visit, "cancel"), {"note": "x" * 301}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"note"}


@pytest.mark.usefixtures("webhook_endpoint")
def test_the_refund_of_a_cancel_reaches_stripe(standin, client):
    from tests.payments import handmade

    payment = handmade.paid_flow(standin, client).refresh().payment
    patient = payment.appointment.patient

    response = client_with_token(patient).post(_url(payment.appointment_id, "cancel"), {}, format="json")
    assert response.status_code == 200, response.content
    for pk in Refund.objects.filter(status=RefundStatus.REQUESTED).values_list("pk", flat=True):
        refund_issue(refund_id=pk)  # the refund worker, after the commit

    refunded = standin.get(f"refunds?payment_intent={payment.payment_intent_id}")["data"]
    assert sum(refund["amount"] for refund in refunded) == payment.captured_amount
    assert response.json()["refund"]["amount"] == payment.captured_amount


# --- rescheduling --------------------------------------------------------------------------------------


def test_the_reschedule_options_are_the_doctors_free_times_on_its_clock(world, api_as):
    first, second = _free_slot(world.doctor, hours=24 * 4), _free_slot(world.doctor, hours=24 * 4 + 1)
    _free_slot(world.other_doctor, hours=24 * 4)  # another doctor's
    visit(patient=world.other_patient, doctor=world.doctor, starts_at=_hours_ahead(24 * 6))  # a taken time
    _free_slot(world.doctor, hours=24 * 20)  # beyond the days the page offers

    response = api_as("patient").get(_url(world.visit, "reschedule"))

    assert response.status_code == 200, response.content
    body = response.json()
    clock = Payment.objects.get(appointment=world.visit).refund_clock_at
    assert body["may_reschedule"] is True
    assert body["refusal"] is None
    assert body["closes_at"] == in_zone(clock - dt.timedelta(hours=2), TOKYO)
    assert body["time_zone"] == TOKYO
    assert body["count"] == 2
    assert body["results"] == [
        {"id": slot.pk, "starts_at": in_zone(slot.starts_at, TOKYO), "ends_at": in_zone(slot.ends_at, TOKYO)}
        for slot in (first, second)
    ]
    assert body["results"][0]["ends_at"].endswith("+09:00")


def test_days_asked_for_are_the_doctors_days(world, api_as):
    doctor_today = timezone.localtime(_hours_ahead(24 * 4), world.doctor.zone).date()
    near = SlotFactory(doctor=world.doctor, starts_at=_tokyo_noon(doctor_today))
    SlotFactory(doctor=world.doctor, starts_at=_tokyo_noon(doctor_today + dt.timedelta(days=3)))
    far = SlotFactory(doctor=world.doctor, starts_at=_tokyo_noon(doctor_today + dt.timedelta(days=25)))
    client = api_as("patient")

    one_day = client.get(_url(world.visit, "reschedule"), {"from": doctor_today, "to": doctor_today}).json()
    later = client.get(_url(world.visit, "reschedule"), {"from": doctor_today + dt.timedelta(days=20)}).json()

    assert [slot["id"] for slot in one_day["results"]] == [near.pk]
    assert [slot["id"] for slot in later["results"]] == [far.pk]


def _tokyo_noon(day: dt.date) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(12), ZoneInfo(TOKYO))


def _days_ahead(days: int) -> str:
    return (timezone.now().date() + dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "tomorrow"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": 10, "to": 9}, "to"),
        ({"from": 1, "to": 60}, "to"),
        ({"from": "9999-12-31"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": 1}, "from"),
        ({"from": 800}, "from"),  # more than two years ahead
    ],
)
def test_days_that_do_not_parse_or_do_not_fit_are_400(world, api_as, query, field):
    # Whole numbers are days from today: the window is two years either side of it.
    query = {name: _days_ahead(value) if isinstance(value, int) else value for name, value in query.items()}
    response = api_as("patient").get(_url(world.visit, "reschedule"), query)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {field}


def test_the_options_cost_the_same_queries_for_2_and_12_free_times(world, api_as):
    client = api_as("patient")
    client.get("/api/v1/me/")  # the token's first use is recorded once: not this endpoint's cost

    def queries_with(free: int) -> int:
        with CaptureQueriesContext(connection) as seen:
            response = client.get(_url(world.visit, "reschedule"))
        assert response.json()["count"] == free
        return len(seen.captured_queries)

    for hour in range(2):
        _free_slot(world.doctor, hours=24 * 4 + hour)
    two = queries_with(2)
    for hour in range(2, 12):
        _free_slot(world.doctor, hours=24 * 4 + hour)
    assert queries_with(12) == two


def test_a_visit_too_close_to_move_offers_no_times_and_says_why(world, api_as):
    soon = visit(patient=world.patient, doctor=world.doctor, starts_at=_hours_ahead(1.5))
    _free_slot(world.doctor)

    body = api_as("patient").get(_url(soon, "reschedule")).json()

    assert body["may_reschedule"] is False
    assert body["refusal"].startswith("This visit can no longer be moved online: moving closed at ")
    assert (body["count"], body["results"]) == (0, [])


def test_the_patient_moves_the_visit_and_is_emailed_the_new_time(world, api_as):
    old_slot = world.visit.slot
    new_slot = _free_slot(world.doctor, hours=24 * 5)

    response = api_as("patient").post(_url(world.visit, "reschedule"), {"slot": new_slot.pk}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"]) == (world.visit.pk, AppointmentStatus.CONFIRMED)
    assert body["starts_at"] == in_zone(new_slot.starts_at, TOKYO)
    assert body["starts_at"].endswith("+09:00")
    world.visit.refresh_from_db()
    assert world.visit.slot_id == new_slot.pk
    email = OutboundEmail.objects.get(key=f"appointment-moved:{world.visit.pk}:{old_slot.pk}:{new_slot.pk}")
    assert email.to == "pat@example.com"
    assert not Refund.objects.exists()


def test_a_taken_time_or_another_doctors_is_409_and_changes_nothing(world, api_as):
    client = api_as("patient")
    taken = visit(patient=PatientFactory(), doctor=world.doctor, starts_at=_hours_ahead(24 * 5)).slot
    others = _free_slot(world.other_doctor)
    before = _state(world.visit)

    on_taken = client.post(_url(world.visit, "reschedule"), {"slot": taken.pk}, format="json")
    on_others = client.post(_url(world.visit, "reschedule"), {"slot": others.pk}, format="json")

    assert on_taken.status_code == 409
    assert on_taken.json()["error"]["message"] in {
        "This time is not available. Please choose another time.",
        "Sorry, someone has just booked this time. Please choose another one.",
    }
    assert on_others.status_code == 409
    assert on_others.json()["error"]["message"] == "Please choose one of this doctor's free times."
    assert _state(world.visit) == before


def test_an_unknown_time_is_400_as_the_page_answers_a_time_it_does_not_offer(world, api_as):
    client = api_as("patient")
    before = _state(world.visit)
    for sent in ({"slot": 999999}, {"slot": "soon"}, {}):
        response = client.post(_url(world.visit, "reschedule"), sent, format="json")
        assert response.status_code == 400, sent
        assert set(response.json()["error"]["fields"]) == {"slot"}
    assert _state(world.visit) == before


def test_moving_after_the_window_closed_is_409_with_the_reason(world, api_as):
    soon = visit(patient=world.patient, doctor=world.doctor, starts_at=_hours_ahead(1.5))
    free = _free_slot(world.doctor)
    before = _state(soon)

    response = api_as("patient").post(_url(soon, "reschedule"), {"slot": free.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["message"].startswith("This visit can no longer be moved online")
    assert _state(soon) == before


# --- reviews ---------------------------------------------------------------------------------------------


def test_the_patient_rates_a_completed_visit_once(world, api_as):
    completed = _completed_visit(world)
    client = api_as("patient")

    response = client.post(_url(completed, "review"), {"rating": 5, "comment": " Very kind. "}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    review = Review.objects.get(appointment=completed)
    assert body == {
        "appointment": completed.pk,
        "rating": 5,
        "comment": "Very kind.",
        "created_at": in_zone(review.created_at, TOKYO),
        "time_zone": TOKYO,
    }
    assert body["created_at"].endswith("+09:00")
    doctor = Doctor.objects.get(pk=world.doctor.pk)
    assert (doctor.review_count, doctor.rating_sum) == (1, 5)

    again = client.post(_url(completed, "review"), {"rating": 1}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "You have already rated this visit. Thank you!"
    assert Review.objects.get().rating == 5


def test_a_visit_not_completed_or_not_paid_cannot_be_rated(world, api_as):
    client = api_as("patient")
    unpaid = _completed_visit(world, paid=False)

    upcoming = client.post(_url(world.visit, "review"), {"rating": 4}, format="json")
    not_paid = client.post(_url(unpaid, "review"), {"rating": 4}, format="json")

    assert upcoming.status_code == 409
    assert upcoming.json()["error"]["message"] == (
        "You can rate a visit once it has taken place and the doctor has completed it."
    )
    assert not_paid.status_code == 409
    assert not_paid.json()["error"]["message"] == "Only a visit that was paid for can be rated."
    assert not Review.objects.exists()


@pytest.mark.parametrize("sent", [{"rating": 6}, {"rating": 0}, {"rating": "great"}, {}, {"rating": None}])
def test_a_rating_off_the_scale_is_400(world, api_as, sent):
    completed = _completed_visit(world)

    response = api_as("patient").post(_url(completed, "review"), sent, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"rating": ["Choose a rating from 1 to 5."]}
    assert not Review.objects.exists()


def test_a_comment_too_long_is_400(world, api_as):
    completed = _completed_visit(world)
    response = api_as("patient").post(_url(completed, "review"), {"rating": 3, "comment": "x" * 1001}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"comment"}


def test_the_api_and_the_pages_refuse_a_cancel_or_review_in_the_same_words(world, api_as, client):
    """The API's cancel note is the doctor's and staff's cancel forms' (CancelVisitForm, StaffCancelForm),
    its review the review form's (ReviewForm): one limit, one rule, one message."""
    from django.urls import reverse

    before = _state(world.visit)
    too_long = "Ensure this value has at most 300 characters (it has 301)."
    say_why = "Please say why, for the patient: they read it in their e-mail."
    for role, user, page, name in (
        ("doctor", world.doctor.user, "appointments:doctor_cancel", "cancel-note"),
        ("staff", world.staff, "appointments:staff_cancel", "note"),
    ):
        client.force_login(user)
        for note, said in (("x" * 301, too_long), ("   ", say_why), ("", say_why)):
            response = api_as(role).post(_url(world.visit, "cancel"), {"note": note}, format="json")
            assert response.status_code == 400, (role, note)
            assert response.json()["error"]["fields"] == {"note": [said]}
            shown = client.post(reverse(page, args=[world.visit.pk]), {name: note})
            assert shown.status_code == 400 and html.escape(said) in shown.text, (role, note)
        assert api_as(role).post(_url(world.visit, "cancel"), {}, format="json").json()["error"]["fields"] == {
            "note": [say_why]
        }
    assert _state(world.visit) == before

    completed = _completed_visit(world)
    client.force_login(world.patient)
    choose = "Choose a rating from 1 to 5."
    for rating in (9, None):
        response = api_as("patient").post(_url(completed, "review"), {"rating": rating}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"rating": [choose]}
    assert choose in client.post(reverse("appointments:review", args=[completed.pk]), {"rating": "9"}).text
    long = api_as("patient").post(_url(completed, "review"), {"rating": 4, "comment": "x" * 1001}, format="json")
    said = "Ensure this value has at most 1000 characters (it has 1001)."
    assert long.json()["error"]["fields"] == {"comment": [said]}
    assert (
        said
        in client.post(reverse("appointments:review", args=[completed.pk]), {"rating": "4", "comment": "x" * 1001}).text
    )
    assert not Review.objects.exists()
