"""A lost database answers every request with a 503 "try again" (page or API error), never a 500
or a stack trace: whether the view, or a middleware before it, was the first to need it."""

import contextlib
import logging

import psycopg
import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client, RequestFactory, override_settings

from appointments.models import Appointment, AppointmentStatus
from hospital.middleware import UNAVAILABLE_MESSAGE, DatabaseBusyMiddleware, database_unreachable
from tests.factories import SlotFactory
from tests.faults.tcp_proxy import TcpProxy

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@contextlib.contextmanager
def database_cut():
    """Inside, no new database connection can be opened. On PostgreSQL for real: the connection
    goes to a proxy that refuses it. On SQLite, which has no server to lose, opening a connection
    raises what Django raises on PostgreSQL when the server refuses."""
    connection.close()
    with pytest.MonkeyPatch.context() as patch, contextlib.ExitStack() as stack:
        if ON_POSTGRES:
            settings_dict = connection.settings_dict
            proxy = stack.enter_context(
                TcpProxy((settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)))
            )
            proxy.cut()
            patch.setitem(settings_dict, "HOST", "127.0.0.1")
            patch.setitem(settings_dict, "PORT", str(proxy.port))
        else:

            def refused(*args, **kwargs):
                cause = psycopg.OperationalError("connection failed: Connection refused")
                raise OperationalError(str(cause)) from cause

            patch.setattr(connection, "get_new_connection", refused)
        try:
            yield
        finally:
            connection.close()


@pytest.fixture
def database_down(transactional_db):
    """The database is gone for the whole test; back before the test database is flushed."""
    with database_cut():
        yield


@pytest.fixture
def client_logged_in_without_raising(patient):
    """A logged-in patient's client that returns the 500 handler's answer instead of raising
    (the idle log-off middleware reads the user before any view, so the 500 handler answers)."""
    client = Client(raise_request_exception=False)
    client.force_login(patient)
    return client


def assert_unavailable_page(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response["Content-Type"].startswith("text/html")
    assert UNAVAILABLE_MESSAGE in response.text
    assert "Traceback" not in response.text


def assert_logged_with_exception(caplog, method: str, path: str):
    lines = [r for r in caplog.records if r.name == "hospital.middleware" and r.levelno == logging.ERROR]
    assert [r.getMessage() for r in lines] == [f"Database unreachable: {method} {path} answered 503"]
    assert isinstance(lines[0].exc_info[1], OperationalError)


def test_a_patient_page_answers_503_with_the_message_and_the_error_is_logged(
    client_logged_in_without_raising, database_down, caplog
):
    response = client_logged_in_without_raising.get("/appointments/")

    assert_unavailable_page(response)
    assert '<a href="/appointments/">Try again</a>' in response.text
    assert_logged_with_exception(caplog, "GET", "/appointments/")


def test_the_api_answers_503_in_its_error_shape(client_logged_in_without_raising, database_down):
    response = client_logged_in_without_raising.get("/api/v1/me/")

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json() == {"error": {"code": "unavailable", "message": UNAVAILABLE_MESSAGE, "fields": {}}}


class UserBeforeTheView:
    """A middleware that reads the user before any view runs, as a two-factor check does."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user_seen_before_the_view = request.user.is_authenticated
        return self.get_response(request)


@override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, f"{__name__}.UserBeforeTheView"])
def test_a_middleware_loading_the_user_before_the_view_gets_the_503_too(
    client_logged_in_without_raising, database_down, caplog
):
    response = client_logged_in_without_raising.get("/appointments/")

    assert_unavailable_page(response)
    assert_logged_with_exception(caplog, "GET", "/appointments/")


def wrapped(cause: Exception) -> OperationalError:
    """What Django raises for `cause` from psycopg."""
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "cause",
    [
        psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
        psycopg.OperationalError("the connection is closed"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        psycopg.errors.ConnectionFailure("connection failure"),
    ],
    ids=lambda cause: type(cause).__name__ + ":" + str(cause)[:20],
)
def test_a_lost_or_refused_connection_is_unreachable(cause):
    assert database_unreachable(wrapped(cause))


@pytest.mark.parametrize(
    "error",
    [
        # Our lock order would be wrong: a 500 makes it visible.
        wrapped(psycopg.errors.DeadlockDetected("deadlock detected")),
        wrapped(psycopg.errors.SerializationFailure("could not serialize access")),
        # SQLite's OperationalError is a programming error here, not a lost server.
        OperationalError("no such table: hospital_slot"),
        OperationalError("unable to open database file"),
        ValueError("connection refused"),
    ],
    ids=str,
)
def test_other_database_errors_stay_500s(error):
    middleware = DatabaseBusyMiddleware(lambda request: None)
    assert not database_unreachable(error)
    assert middleware.process_exception(RequestFactory().get("/"), error) is None


def test_a_booking_whose_hold_committed_before_the_database_went_away_says_the_time_is_held(
    transactional_db, patient_client, monkeypatch
):
    from appointments import views

    slot = SlotFactory()
    open_checkout = views.payments.checkout_redirect_url

    def database_lost_after_the_hold(**kwargs):
        with database_cut():
            return open_checkout(**kwargs)

    monkeypatch.setattr(views.payments, "checkout_redirect_url", database_lost_after_the_hold)
    response = patient_client.post(f"/appointments/book/{slot.pk}/", {"reason": ""})

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert views.HELD_BUT_UNAVAILABLE in response.text
    assert UNAVAILABLE_MESSAGE not in response.text
    appointment = Appointment.objects.get(slot=slot)
    assert appointment.status == AppointmentStatus.PENDING_PAYMENT
    assert appointment.payment.checkout_attempts.get().session_id is None
