import logging

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from hospital.locks import RowBusy

logger = logging.getLogger(__name__)
# Long enough for a webhook's slow Stripe re-fetch, which holds SQLite's write lock, to finish.
BUSY_RETRY_AFTER_SECONDS = 10
BUSY_MESSAGE = "We are very busy right now and nothing was saved. Please try again in a few seconds."


class DatabaseBusyMiddleware:
    """SQLite (the demo's database) lets one connection write at a time. A request that waited its
    busy timeout for the lock gets a 503 "busy, try again" page with Retry-After instead of a 500;
    its transaction has rolled back, so nothing was saved. So does one whose row changed while it
    queued for its lock (RowBusy) and that no page answered itself. Under /api/ the answer is the
    API's error shape. Every other error still raises."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RowBusy):
            message = str(exception)
        elif isinstance(exception, OperationalError) and "database is locked" in str(exception):
            message = ""
        else:
            return None
        logger.warning("Busy (%s): %s %s answered 503", type(exception).__name__, request.method, request.path)
        headers = {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}
        if request.path.startswith("/api/"):
            error = {"code": "busy", "message": message or BUSY_MESSAGE, "fields": {}}
            return JsonResponse({"error": error}, status=503, headers=headers)
        # Rendered without the request: its context processors and session must not touch the
        # database that is busy.
        context = {"retry_url": request.get_full_path(), "message": message}
        return HttpResponse(render_to_string("hospital/busy.html", context), status=503, headers=headers)
