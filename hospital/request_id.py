"""Every request gets an id, the same in its log lines and its X-Request-ID response header, so a
patient quoting the reference on an error page leads straight to the log lines of their request."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from hospital.log_context import WELL_FORMED_REQUEST_ID, request_id_begin

REQUEST_ID_HEADER = "X-Request-ID"


def request_id_for(request: HttpRequest) -> str:
    """The proxy's id when it sent a well-formed one (so its access log and ours agree), else a new one.
    Without a proxy (TRUSTED_PROXY_COUNT 0) the header is the visitor's own: a new id, or anyone
    could give their requests another request's reference. Malformed ones are never kept: they
    would end up in our logs and headers as they are."""
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    if settings.TRUSTED_PROXY_COUNT and WELL_FORMED_REQUEST_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request)
        request_id_begin(request.request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response
