"""The patient's appointments over the API: the list as "My appointments" filters it, one
appointment as its page shows it, and booking and paying through the Stripe stand-in, with the
webhook Stripe would send confirming the visit."""

import datetime as dt
import urllib.parse

import pytest
import stripe
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus, CancelReason
from payments.models import CheckoutAttempt, CheckoutAttemptStatus, PaymentStatus
from payments.services import UNAVAILABLE_MESSAGE
from tests.api.matrix import Row, check_row
from tests.factories import SlotFactory, hold_slot, visit
from tests.payments.stripe_events import post_event

pytestmark = pytest.mark.django_db

LIST = "/api/v1/appointments/"
STAFF_AND_DOCTORS = ["doctor", "other_doctor", "staff"]


def detail_path(appointment) -> str:
    return f"/api/v1/appointments/{appointment.pk}/"


def _a_free_slot(world) -> dict:
    """A free slot of the Tokyo doctor, while the other patient has as many unpaid holds as one may."""
    from django.conf import settings

    for day in range(settings.MAX_UNPAID_HOLDS):
        hold_slot(patient=world.other_patient, slot=SlotFactory(starts_at=timezone.now() + dt.timedelta(days=6 + day)))
    slot = SlotFactory(doctor=world.doctor, starts_at=timezone.now() + dt.timedelta(days=5))
    return {"slot": slot.pk, "reason": "A cough"}


ROWS = [
    Row(
        "get",
        lambda w: LIST,
        {"anonymous": 401, "patient": 200, "other_patient": 200, **dict.fromkeys(STAFF_AND_DOCTORS, 403)},
    ),
    Row(
        "get",
        lambda w: detail_path(w.visit),
        {"anonymous": 401, "patient": 200, "other_patient": 404, **dict.fromkeys(STAFF_AND_DOCTORS, 403)},
    ),
    # Stripe is not reachable here (no stand-in): the hold is made all the same (201). The other
    # patient has too many unpaid bookings already (409).
    Row(
        "post",
        lambda w: LIST,
        {"anonymous": 401, "patient": 201, "other_patient": 409, **dict.fromkeys(STAFF_AND_DOCTORS, 403)},
        body=_a_free_slot,
    ),
    # The visit is paid already: nothing to pay, no hold to cancel.
    Row(
        "post",
        lambda w: detail_path(w.visit) + "pay/",
        {"anonymous": 401, "patient": 409, "other_patient": 404, **dict.fromkeys(STAFF_AND_DOCTORS, 403)},
    ),
    Row(
        "post",
        lambda w: detail_path(w.visit) + "cancel-hold/",
        {"anonymous": 401, "patient": 409, "other_patient": 404, **dict.fromkeys(STAFF_AND_DOCTORS, 403)},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method}-{r.path.__name__}")
def test_patient_appointment_permissions(world, api_as, row):
    check_row(world, row, api_as)


# -- the list ----------------------------------------------------------------------------------


def test_the_list_gives_each_appointment_on_the_doctors_clock(world, api_as):
    response = api_as("patient").get(LIST)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [item] = body["results"]
    starts = world.visit.slot.starts_at.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert item == {
        "id": world.visit.pk,
        "status": "confirmed",
        "doctor": {
            "id": world.doctor.pk,
            "name": world.doctor.display_name,
            "specialty": world.doctor.specialty.name,
        },
        "starts_at": starts.isoformat(),
        "ends_at": (starts + dt.timedelta(minutes=30)).isoformat(),
        "time_zone": "Asia/Tokyo",
        "reason": "Check-up",
        "visit_type": world.visit.visit_type,
        "fee": {"amount": 8000, "currency": "jpy"},
        "payment_status": "paid",
        "hold_expires_at": None,
        "cancel_reason": None,
    }
    assert item["starts_at"].endswith("+09:00")
    assert api_as("other_patient").get(LIST).json()["count"] == 0  # nobody else's


def test_the_list_filters_and_sorts_as_my_appointments_does(world, api_as):
    patient, doctor = world.patient, world.doctor
    now = timezone.now()
    later = visit(patient=patient, doctor=doctor, starts_at=now + dt.timedelta(days=9))
    done = visit(patient=patient, doctor=doctor, starts_at=now - dt.timedelta(days=4), status="completed")
    canceled = visit(
        patient=patient, doctor=doctor, starts_at=now + dt.timedelta(days=6), status="canceled", paid=False
    )
    disputed = visit(patient=patient, doctor=doctor, starts_at=now - dt.timedelta(days=8), status="completed")
    disputed.payment.status = PaymentStatus.DISPUTED
    disputed.payment.save()
    client = api_as("patient")

    def ids(query: str = "") -> list[int]:
        response = client.get(LIST + query)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids() == [world.visit.pk, later.pk]  # upcoming, soonest first
    assert ids("?sort=latest") == [later.pk, world.visit.pk]
    assert ids("?when=past") == [canceled.pk, done.pk, disputed.pk]  # latest first; a canceled visit is past
    assert ids("?when=past&sort=soonest") == [disputed.pk, done.pk, canceled.pk]
    assert ids("?when=past&status=completed") == [done.pk, disputed.pk]
    # A patient reads an open dispute as "paid", and filters by what they read.
    assert ids("?when=past&payment=paid") == [done.pk, disputed.pk]
    assert client.get(LIST + "?when=past&payment=paid").json()["results"][1]["payment_status"] == "paid"
    assert ids("?page_size=1&page=2") == [later.pk]


def test_bad_filter_values_are_400_naming_each(world, api_as):
    response = api_as("patient").get(LIST + "?when=tomorrow&status=lost&payment=disputed&sort=random")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"when", "status", "payment", "sort"}  # disputes are not the patient's word


def test_the_list_costs_the_same_queries_for_2_and_12_appointments(world, api_as):
    client = api_as("patient")

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LIST + "?page_size=50")
        assert response.status_code == 200
        return len(queries), response.json()["count"]

    visit(patient=world.patient, doctor=world.other_doctor, starts_at=timezone.now() + dt.timedelta(days=4))
    client.get(LIST)  # the token's first use is written down once
    at_two, count = queries_for_page()
    assert count == 2
    for day in range(10):
        visit(patient=world.patient, starts_at=timezone.now() + dt.timedelta(days=10 + day), paid=day % 2 == 0)
    at_twelve, count = queries_for_page()
    assert count == 12
    assert at_two == at_twelve


# -- one appointment ---------------------------------------------------------------------------


def test_the_detail_offers_what_the_page_offers_a_paid_visit(world, api_as):
    response = api_as("patient").get(detail_path(world.visit))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == world.visit.pk
    assert body["starts_at"].endswith("+09:00")
    assert body["may_cancel"] is True  # three days ahead
    assert body["may_reschedule"] is True
    assert body["may_pay"] is False
    assert body["may_cancel_hold"] is False
    assert body["pay_by"] is None
    assert body["place"]["is_video"] is False
    assert body["place"]["site"] == world.visit.location_site
    assert body["calendar_url"] == f"http://testserver/appointments/{world.visit.pk}/calendar.ics"


def test_the_detail_of_a_started_visit_offers_no_change(world, api_as):
    started = visit(patient=world.patient, doctor=world.doctor, starts_at=timezone.now() - dt.timedelta(minutes=5))

    body = api_as("patient").get(detail_path(started)).json()

    assert body["may_cancel"] is False
    assert body["may_reschedule"] is False


def test_an_unknown_appointment_is_404(world, api_as):
    response = api_as("patient").get("/api/v1/appointments/999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# -- booking and paying, through the stand-in -------------------------------------------------


def tokyo_slot(world, *, days: int = 4):
    return SlotFactory(doctor=world.doctor, starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=days))


def session_id_of(checkout_url: str) -> str:
    return urllib.parse.urlsplit(checkout_url).path.rstrip("/").split("/")[-1]


@pytest.mark.usefixtures("webhook_endpoint")
def test_a_patient_books_pays_at_the_standin_and_sees_the_visit_confirmed(world, api_as, standin, client):
    slot = tokyo_slot(world)
    api = api_as("patient")

    response = api.post(LIST, {"slot": slot.pk, "reason": "Knee pain"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["checkout_error"] is None
    assert body["checkout_url"].startswith(standin.url)  # the stand-in's hosted page
    booked = body["appointment"]
    assert booked["status"] == "pending_payment"
    assert booked["payment_status"] == "unpaid"
    assert booked["reason"] == "Knee pain"
    assert booked["fee"] == {"amount": 8000, "currency": "jpy"}
    assert booked["starts_at"].endswith("+09:00")
    assert booked["hold_expires_at"].endswith("+09:00")
    appointment = Appointment.objects.get(pk=booked["id"], patient=world.patient, slot=slot)
    session_id = session_id_of(body["checkout_url"])
    assert CheckoutAttempt.objects.get(payment__appointment=appointment).session_id == session_id
    assert standin.get(f"checkout/sessions/{session_id}")["success_url"].startswith(
        f"http://testserver/appointments/{appointment.pk}/paid/"
    )

    shown = api.get(detail_path(appointment)).json()
    assert shown["may_pay"] is True
    assert shown["pay_by"].endswith("+09:00")

    standin.pay(session_id)
    for event in standin.new_events():
        assert post_event(client, event).status_code == 200

    shown = api.get(detail_path(appointment)).json()
    assert shown["status"] == "confirmed"
    assert shown["payment_status"] == "paid"
    assert shown["may_pay"] is False
    assert api.get(LIST).json()["count"] == 2


def test_booking_a_slot_the_patient_holds_already_names_the_hold(world, api_as, standin):
    slot = tokyo_slot(world)
    api = api_as("patient")
    first = api.post(LIST, {"slot": slot.pk}, format="json").json()["appointment"]

    response = api.post(LIST, {"slot": slot.pk}, format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "already_held"
    assert error["message"] == "You are already holding this slot; finish paying for it here."
    assert error["fields"] == {"appointment": [str(first["id"])]}
    assert Appointment.objects.filter(slot=slot).count() == 1


def test_a_slot_someone_else_holds_is_409_with_the_services_words(world, api_as, standin):
    slot = tokyo_slot(world)
    hold_slot(patient=world.other_patient, slot=slot)

    response = api_as("patient").post(LIST, {"slot": slot.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "Sorry, someone has just booked this time. Please choose another slot.",
        "fields": {},
    }
    assert not Appointment.objects.filter(patient=world.patient, slot=slot).exists()


def test_a_slot_past_the_booking_cutoff_is_409(world, api_as, standin):
    slot = SlotFactory(doctor=world.doctor, starts_at=timezone.now() + dt.timedelta(minutes=20))

    response = api_as("patient").post(LIST, {"slot": slot.pk}, format="json")

    assert response.status_code == 409
    assert "Online booking for this time has closed" in response.json()["error"]["message"]


def test_too_many_unpaid_holds_is_409(world, api_as, standin):
    api = api_as("patient")
    with override_settings(MAX_UNPAID_HOLDS=1):
        assert api.post(LIST, {"slot": tokyo_slot(world).pk}, format="json").status_code == 201
        response = api.post(LIST, {"slot": tokyo_slot(world, days=6).pk}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["message"].startswith("You already have 1 bookings waiting for payment.")


def test_bad_and_unknown_slots(world, api_as):
    api = api_as("patient")

    response = api.post(LIST, {"slot": "tomorrow", "reason": "x" * 1001}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"slot", "reason"}

    assert api.post(LIST, {"slot": 999999}, format="json").status_code == 404
    assert not Appointment.objects.filter(patient=world.patient).exclude(pk=world.visit.pk).exists()


def test_with_stripe_down_the_hold_is_made_and_pay_opens_the_page_later(world, api_as, standin, monkeypatch):
    slot = tokyo_slot(world)
    api = api_as("patient")
    monkeypatch.setattr(stripe, "api_base", "http://127.0.0.1:9")  # nothing listens there

    response = api.post(LIST, {"slot": slot.pk}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["checkout_url"] is None
    assert body["checkout_error"] == UNAVAILABLE_MESSAGE
    appointment = Appointment.objects.get(pk=body["appointment"]["id"])
    assert appointment.status == AppointmentStatus.PENDING_PAYMENT

    response = api.post(detail_path(appointment) + "pay/")
    assert response.status_code == 503
    assert response.json()["error"] == {"code": "unavailable", "message": UNAVAILABLE_MESSAGE, "fields": {}}

    monkeypatch.setattr(stripe, "api_base", standin.url)  # back up
    response = api.post(detail_path(appointment) + "pay/")
    assert response.status_code == 200
    session_id = session_id_of(response.json()["checkout_url"])
    assert standin.get(f"checkout/sessions/{session_id}")["status"] == "open"
    # Asked again, the same open page.
    assert api.post(detail_path(appointment) + "pay/").json()["checkout_url"] == response.json()["checkout_url"]


def test_canceling_a_hold_closes_its_page_and_frees_the_slot(world, api_as, standin):
    slot = tokyo_slot(world)
    api = api_as("patient")
    booked = api.post(LIST, {"slot": slot.pk}, format="json").json()
    pk = booked["appointment"]["id"]

    response = api.post(f"/api/v1/appointments/{pk}/cancel-hold/")

    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert response.json()["cancel_reason"] == CancelReason.HOLD_CANCELED
    assert standin.get(f"checkout/sessions/{session_id_of(booked['checkout_url'])}")["status"] == "expired"
    assert CheckoutAttempt.objects.get(payment__appointment_id=pk).status == CheckoutAttemptStatus.EXPIRED
    assert api.post(f"/api/v1/appointments/{pk}/pay/").status_code == 409
    # The slot is free for the next patient.
    assert api_as("other_patient").post(LIST, {"slot": slot.pk}, format="json").status_code == 201


def test_bookings_share_the_booking_pages_hourly_budget(world, api_as, settings, client):
    settings.BOOKING_RATE_LIMIT_PER_HOUR = 2
    api = api_as("patient")
    assert api.post(LIST, {"slot": tokyo_slot(world).pk}, format="json").status_code == 201
    client.force_login(world.patient)
    client.post(f"/appointments/book/{tokyo_slot(world, days=6).pk}/", {"reason": ""})
    assert Appointment.objects.filter(patient=world.patient).count() == 3  # the world's visit, then two holds

    response = api.post(LIST, {"slot": tokyo_slot(world, days=7).pk}, format="json")

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) <= 3600
    assert response.json()["error"]["code"] == "throttled"
    assert api.get(LIST).status_code == 200  # reading is not booking
