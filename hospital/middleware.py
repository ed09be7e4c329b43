import logging

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)
# Long enough for a webhook's slow Stripe re-fetch, which holds SQLite's write lock, to finish.
BUSY_RETRY_AFTER_SECONDS = 10


class DatabaseBusyMiddleware:
    """SQLite (the demo's database) lets one connection write at a time. A request that waited its
    busy timeout for the lock gets a 503 "busy, try again" page with Retry-After instead of a 500;
    its transaction has rolled back, so nothing was saved. Every other error still raises."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not (isinstance(exception, OperationalError) and "database is locked" in str(exception)):
            return None
        logger.warning("Database busy: %s %s answered 503", request.method, request.path)
        # Rendered without the request: its context processors and session must not touch the
        # database that is busy.
        return HttpResponse(
            render_to_string("hospital/busy.html", {"retry_url": request.get_full_path()}),
            status=503,
            headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
        )
