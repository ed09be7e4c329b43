"""Booking with an Idempotency-Key: a retry gets the first answer and books nothing more; the key
is the caller's own, kept a day, refused for another request, and let go when the server failed."""

import datetime as dt

import pytest
from django.db import OperationalError
from django.utils import timezone

from appointments.models import Appointment
from hospital.models import IdempotentRequest, IdempotentRequestState
from payments import services as payment_services
from tests.api.conftest import client_with_token
from tests.concurrency import run_concurrently
from tests.factories import SlotFactory

LIST = "/api/v1/appointments/"
KEY = "3f0c6a7e-5b4e-4a71-9a0c-2f1d8e7b6c5a"


def book(client, slot, *, key: str | None = KEY, reason: str = ""):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(LIST, {"slot": slot.pk, "reason": reason}, format="json", **headers)


def a_slot(world, days: int = 4):
    return SlotFactory(doctor=world.doctor, starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=days))


def session_creates(standin) -> int:
    return standin.api_calls().count("POST /v1/checkout/sessions")


@pytest.mark.django_db
def test_the_same_request_again_gets_the_first_answer_and_books_nothing_more(world, api_as, standin):
    client, slot = api_as("patient"), a_slot(world)

    first = book(client, slot, reason="Back pain")
    again = book(client, slot, reason="Back pain")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Appointment.objects.filter(slot=slot).count() == 1
    assert session_creates(standin) == 1
    kept = IdempotentRequest.objects.get(user=world.patient, key=KEY)
    assert kept.state == IdempotentRequestState.DONE
    assert kept.response_status == 201
    assert len(kept.fingerprint) == 64
    # Without a key, the same request is a new one: here the slot is the patient's own hold already.
    assert book(client, slot, key=None, reason="Back pain").json()["error"]["code"] == "already_held"


@pytest.mark.django_db
def test_the_key_with_another_request_is_422_and_changes_nothing(world, api_as, standin):
    client = api_as("patient")
    assert book(client, a_slot(world)).status_code == 201

    other_slot = a_slot(world, days=5)
    response = book(client, other_slot)

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
        "fields": {},
    }
    assert not Appointment.objects.filter(slot=other_slot).exists()


@pytest.mark.django_db
def test_keys_are_each_users_own(world, api_as, standin):
    mine = book(api_as("patient"), a_slot(world))
    theirs = book(api_as("other_patient"), a_slot(world, days=5))

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["appointment"]["id"] != theirs.json()["appointment"]["id"]
    assert IdempotentRequest.objects.filter(key=KEY).count() == 2


@pytest.mark.django_db
def test_while_the_first_request_runs_the_same_one_is_409_in_progress(world, api_as, standin, monkeypatch):
    client, slot = api_as("patient"), a_slot(world)
    seen_meanwhile = []
    real_book = payment_services.appointment_book

    def book_while_a_retry_arrives(**kwargs):
        seen_meanwhile.append(book(api_as("patient"), slot))  # the client's retry, before we answer
        return real_book(**kwargs)

    monkeypatch.setattr(payment_services, "appointment_book", book_while_a_retry_arrives)
    first = book(client, slot)

    assert first.status_code == 201
    [retry] = seen_meanwhile
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "request_in_progress"
    assert Appointment.objects.filter(slot=slot).count() == 1
    monkeypatch.setattr(payment_services, "appointment_book", real_book)
    assert book(client, slot).json() == first.json()  # now answered: replayed


@pytest.mark.django_db
def test_a_refusal_is_kept_and_replayed_too(world, api_as, standin):
    client, slot = api_as("patient"), a_slot(world)
    assert book(api_as("other_patient"), slot, key="theirs").status_code == 201

    first = book(client, slot)
    again = book(client, slot)

    assert first.status_code == again.status_code == 409
    assert again.json() == first.json()
    assert again.json()["error"]["message"] == "Sorry, someone has just booked this time. Please choose another slot."


@pytest.mark.django_db
def test_an_unknown_slot_is_a_404_kept_for_the_key_too(world, api_as, standin):
    client = api_as("patient")
    first = client.post(LIST, {"slot": 999999, "reason": ""}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = client.post(LIST, {"slot": 999999, "reason": ""}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert first.status_code == again.status_code == 404
    assert again.headers["Idempotent-Replayed"] == "true"
    assert IdempotentRequest.objects.get(key=KEY).response_status == 404


@pytest.mark.django_db
def test_a_server_failure_lets_the_key_go_so_the_retry_books(world, api_as, standin, monkeypatch):
    client, slot = api_as("patient"), a_slot(world)
    real_book = payment_services.appointment_book

    def busy(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(payment_services, "appointment_book", busy)
    failed = book(client, slot)
    assert failed.status_code == 503  # "busy, try again": nothing was booked
    assert not IdempotentRequest.objects.filter(key=KEY).exists()

    monkeypatch.setattr(payment_services, "appointment_book", real_book)
    retried = book(client, slot)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert Appointment.objects.filter(slot=slot).count() == 1


@pytest.mark.django_db
def test_values_that_do_not_validate_claim_no_key(world, api_as, standin):
    client, slot = api_as("patient"), a_slot(world)
    invalid = client.post(LIST, {"slot": "soon"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    assert invalid.status_code == 400
    assert not IdempotentRequest.objects.exists()

    assert book(client, slot).status_code == 201  # the corrected request under the same key


@pytest.mark.django_db
def test_a_key_is_forgotten_after_its_lifetime(world, api_as, standin, settings):
    client = api_as("patient")
    assert book(client, a_slot(world)).status_code == 201
    IdempotentRequest.objects.update(created_at=timezone.now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS))

    later = a_slot(world, days=5)
    response = book(client, later)  # another request under the old key: a new one, not a 422

    assert response.status_code == 201
    assert Appointment.objects.filter(slot=later).exists()
    assert IdempotentRequest.objects.get(key=KEY).created_at > timezone.now() - dt.timedelta(minutes=1)


@pytest.mark.django_db
def test_a_claim_left_running_is_taken_over_by_a_retry_after_the_503s_retry_after(world, api_as, standin):
    # A dead process, or a request whose database went away before it could let the key go; its
    # client was told "Retry-After: 60" and comes back with the same key a minute later.
    client = api_as("patient")
    IdempotentRequest.objects.create(
        user=world.patient, key=KEY, fingerprint="0" * 64, created_at=timezone.now() - dt.timedelta(seconds=61)
    )
    response = book(client, a_slot(world))

    assert response.status_code == 201
    assert IdempotentRequest.objects.get(key=KEY).state == IdempotentRequestState.DONE


@pytest.mark.django_db
def test_a_claim_running_for_a_moment_is_still_in_progress(world, api_as, standin):
    IdempotentRequest.objects.create(
        user=world.patient, key=KEY, fingerprint="0" * 64, created_at=timezone.now() - dt.timedelta(seconds=50)
    )
    slot = a_slot(world)
    client = api_as("patient")
    held = client.post(LIST, {"slot": slot.pk, "reason": ""}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert held.status_code in (409, 422)  # a running claim of another request: never a second run
    assert not Appointment.objects.filter(slot=slot).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_a_key_that_is_blank_or_too_long_is_400(world, api_as, key):
    response = book(api_as("patient"), a_slot(world), key=key)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert not Appointment.objects.filter(patient=world.patient).exclude(pk=world.visit.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_once_book_one_appointment(world, standin):
    """Real threads, each with its own connection: the key's claim is committed before the
    booking starts, so the second finds it (PostgreSQL waits on the unique index; SQLite on its
    write lock) whichever inserts first."""
    standin.control("config", api_delay_seconds=0.5)  # the first is still talking to Stripe
    slot = a_slot(world)
    clients = [client_with_token(world.patient), client_with_token(world.patient)]  # two devices

    responses = run_concurrently(lambda: book(clients.pop(), slot), threads=2)

    statuses = sorted(response.status_code for response in responses)
    assert statuses in ([201, 201], [201, 409]), [r.content for r in responses]
    if statuses == [201, 409]:
        assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"request_in_progress"}
    assert Appointment.objects.filter(slot=slot).count() == 1
    assert session_creates(standin) == 1
    assert IdempotentRequest.objects.get(key=KEY).state == IdempotentRequestState.DONE
