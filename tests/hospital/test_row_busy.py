"""A visit that changed while a request queued for its lock (AppointmentBusy, a kind of RowBusy):
nothing was done, and whoever asked is told to try again, on a page or through the API, never
with a 500."""

import pytest

from appointments.locks import AppointmentBusy
from tests.api.conftest import client_with_token
from tests.factories import SlotFactory, hold_slot

BUSY = "This appointment was changed a moment ago. Please try again."


@pytest.fixture
def busy_hold_cancel(monkeypatch):
    def changed_meanwhile(**kwargs):
        raise AppointmentBusy(BUSY)

    monkeypatch.setattr("payments.services.hold_cancel", changed_meanwhile)


@pytest.fixture
def held(patient):
    return hold_slot(patient=patient, slot=SlotFactory())


def test_the_page_answers_the_busy_page_with_retry_after(patient_client, held, busy_hold_cancel):
    response = patient_client.post(f"/appointments/{held.pk}/cancel-hold/")

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert BUSY in response.content.decode() and "Nothing was saved." in response.content.decode()
    held.refresh_from_db()
    assert held.status == "pending_payment"


def test_the_api_answers_503_busy_in_its_error_shape(patient, held, busy_hold_cancel):
    response = client_with_token(patient).post(f"/api/v1/appointments/{held.pk}/cancel-hold/")

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json() == {"error": {"code": "busy", "message": BUSY, "fields": {}}}
    held.refresh_from_db()
    assert held.status == "pending_payment"
