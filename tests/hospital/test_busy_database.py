"""SQLite (the demo's database) has one writer at a time: a patient whose booking waits too long
for it gets a "busy, try again" page, quickly, and nothing half-written."""

import datetime as dt
import sqlite3
import time

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from hospital.middleware import DatabaseBusyMiddleware
from payments.models import CheckoutAttempt, Payment
from tests.factories import SlotFactory

ON_SQLITE = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite's single write lock; PostgreSQL has row locks")
@pytest.mark.django_db(transaction=True)
def test_a_booking_while_another_connection_holds_the_write_lock_gets_the_busy_page_in_time(patient_client):
    slot = SlotFactory(starts_at=timezone.now() + dt.timedelta(days=3))
    book_url = reverse("appointments:book", args=[slot.pk])
    busy_timeout = connection.settings_dict["OPTIONS"]["timeout"]
    assert busy_timeout <= 5  # a patient waits seconds, not the 20 s a worker may

    # Another process writing, e.g. a webhook whose Stripe re-fetch is slow.
    writer = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        response = patient_client.post(book_url, {"reason": "Knee"})
        took = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "very busy" in response.text
    assert "Nothing was saved" in response.text
    assert f'<a href="{book_url}">Try again</a>' in response.text
    assert took < busy_timeout + 2
    assert (Appointment.objects.count(), Payment.objects.count(), CheckoutAttempt.objects.count()) == (0, 0, 0)


def test_only_a_locked_database_becomes_the_busy_page():
    middleware = DatabaseBusyMiddleware(lambda request: None)
    request = RequestFactory().post("/appointments/book/1/")
    assert middleware.process_exception(request, OperationalError("no such table: hospital_slot")) is None
    assert middleware.process_exception(request, ValueError("database is locked")) is None
    assert middleware.process_exception(request, OperationalError("database is locked")).status_code == 503
