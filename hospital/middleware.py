import logging

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from hospital.locks import RowBusy

logger = logging.getLogger(__name__)
# Long enough for a webhook's slow Stripe re-fetch, which holds SQLite's write lock, to finish.
BUSY_RETRY_AFTER_SECONDS = 10
BUSY_MESSAGE = "We are very busy right now and nothing was saved. Please try again in a few seconds."
NOTHING_HELD = "Nothing was saved: if you were booking, the time is not held for you yet."
# A database restart or a network failover takes seconds to a minute.
UNAVAILABLE_RETRY_AFTER_SECONDS = 60
UNAVAILABLE_MESSAGE = "The service is briefly unavailable; nothing was saved. Please try again in a minute."
# PostgreSQL errors that say the server cannot be talked to right now (a retry can succeed), not
# that the statement is wrong: class 08 (connection exception), the server shutting down or
# starting (57P01-57P03) and too many connections (53300). psycopg's own errors about the socket
# (refused, closed unexpectedly, "the connection is closed") have no SQLSTATE.
UNREACHABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}


def database_unreachable(exception: BaseException) -> bool:
    """The database server is down or the connection to it was lost. Only psycopg's errors count:
    SQLite raises OperationalError for mistakes too ("no such table"), and a deadlock or a
    serialization failure means our lock order is wrong, which a 500 should make visible."""
    cause = exception.__cause__
    if not isinstance(exception, OperationalError) or not type(cause).__module__.startswith("psycopg"):
        return False
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in UNREACHABLE_SQLSTATES


def unavailable_response(
    request: HttpRequest, exception: BaseException, *, message: str = UNAVAILABLE_MESSAGE
) -> HttpResponse:
    """503 with Retry-After for a request the lost database failed: the transaction it was in
    rolled back (`message` says so, unless a page knows that an earlier one committed). Rendered
    without the request's context processors, which would query the database."""
    logger.error("Database unreachable: %s %s answered 503", request.method, request.path, exc_info=exception)
    return _retry_later(
        request,
        retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS,
        code="unavailable",
        message=message,
        heading="Briefly unavailable",
        lines=[message],
    )


def _retry_later(
    request: HttpRequest, *, retry_after: int, code: str, message: str, heading: str, lines: list[str]
) -> HttpResponse:
    """`message` for an API client, `heading` and `lines` for a person."""
    headers = {"Retry-After": str(retry_after)}
    if request.path.startswith("/api/"):
        error = {"code": code, "message": message, "fields": {}}
        return JsonResponse({"error": error}, status=503, headers=headers)
    context = {"retry_url": request.get_full_path(), "heading": heading, "lines": lines}
    return HttpResponse(render_to_string("hospital/busy.html", context), status=503, headers=headers)


class DatabaseBusyMiddleware:
    """A request the database could not serve gets a 503 "try again" page with Retry-After instead
    of a 500; its transaction has rolled back, so nothing was saved. Under /api/ the answer is the
    API's error shape. Three causes, each a retry can fix:
    - SQLite (the demo's database) lets one connection write at a time: the request waited its
      busy timeout for the lock;
    - a row changed while the request queued for its lock (RowBusy) and no page answered itself;
    - the database server is unreachable or the connection was lost (database_unreachable).
    Every other error still raises. This hook sees only what the view raises (the user and the
    session are loaded lazily, so inside the view); a failure in another middleware reaches
    handler500 instead (hospital.api.errors.server_error), which answers the same 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if database_unreachable(exception):
            return unavailable_response(request, exception)
        if isinstance(exception, RowBusy):
            message = str(exception)
        elif isinstance(exception, OperationalError) and "database is locked" in str(exception):
            message = ""
        else:
            return None
        logger.warning("Busy (%s): %s %s answered 503", type(exception).__name__, request.method, request.path)
        saved = f"{message} Nothing was saved." if message else NOTHING_HELD
        return _retry_later(
            request,
            retry_after=BUSY_RETRY_AFTER_SECONDS,
            code="busy",
            message=message or BUSY_MESSAGE,
            heading="We are very busy right now",
            lines=[saved, "Please wait a few seconds and try again."],
        )
