"""Every API error has one shape: {"error": {"code": ..., "message": ..., "fields": {...}}}.

`code` is stable and meant for programs; `message` is written for a person and never carries
Stripe's developer text; `fields` maps an input field to its messages (400 only).
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from hospital.locks import RowBusy
from hospital.log_context import current_request_id
from hospital.middleware import BUSY_RETRY_AFTER_SECONDS, database_unreachable, unavailable_response

NON_FIELD = "non_field_errors"


class Conflict(exceptions.APIException):
    """The object is not in a state that allows this (a forbidden transition, a taken slot)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This cannot be done in the object's present state."
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


class ServiceUnavailable(exceptions.APIException):
    """A dependency (Stripe, the database's write lock) is slow or down: retrying may succeed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is busy. Please try again in a moment."
    default_code = "unavailable"


@contextmanager
def refused_as_conflict(*domain_errors: type[Exception], code: str = "conflict") -> Iterator[None]:
    """A service's refusal (its message is written for the person) becomes a 409 with that text."""
    try:
        yield
    except domain_errors as exc:
        raise Conflict(str(exc), code=code) from exc


def _field_messages(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {name: [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])] for name, msgs in detail.items()}
    return {NON_FIELD: [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def _first_code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    while isinstance(codes, dict | list) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return codes if isinstance(codes, str) else exc.default_code


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()  # never say what was not found: another user's object is a 404 too
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, RowBusy):
        exc = ServiceUnavailable(str(exc), code="busy")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a real fault, which Django reports as a 500
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_messages(exc.detail)
        general = fields.get(NON_FIELD)
        body = {
            "code": "invalid",
            "message": general[0] if general and len(fields) == 1 else "Some of the values sent are not valid.",
            "fields": fields,
        }
    else:
        body = {"code": _first_code(exc), "message": str(exc.detail), "fields": {}}
    response.data = {"error": body}
    if response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        response["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    return response


def _api_error(status: int, code: str, message: str, **more: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}, **more}}, status=status)


def _bare_error_page(template: str, *, status: int) -> HttpResponse:
    """Rendered without the request's context processors: the fault may be the database or the
    session itself. The page quotes the request's id, which the log lines of the fault carry."""
    return HttpResponse(render_to_string(template, {"request_id": current_request_id()}), status=status)


def not_found(request, exception):
    """Django's 404 for a path no route matches: in the API's error shape under /api/."""
    if request.path.startswith("/api/"):
        return _api_error(404, "not_found", exceptions.NotFound.default_detail)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """A request Django refuses before any view (e.g. a Host header not allowed): no details."""
    if request.path.startswith("/api/"):
        return _api_error(400, "bad_request", "The request could not be understood.")
    return _bare_error_page("400.html", status=400)


def server_error(request):
    """Never a traceback or a setting: a friendly page (or the API's shape) and the reference to
    quote; the traceback is in the log line with the same request id. A lost database that failed
    a middleware (loading the session or the user, saving the session), where
    DatabaseBusyMiddleware's process_exception does not reach, still gets the 503 "try again"."""
    exception = sys.exc_info()[1]
    if exception is not None and database_unreachable(exception):
        return unavailable_response(request, exception)
    if request.path.startswith("/api/"):
        return _api_error(
            500,
            "server_error",
            "Something went wrong on our side. Please try again later.",
            request_id=current_request_id(),
        )
    return _bare_error_page("500.html", status=500)
