"""The OpenAPI description: every operation lists the errors it can answer with.

The errors every endpoint shares are added here (401 and 403 where a log-in is needed, 404 where
the path names an object, 400 where a body is sent, 429 everywhere); an endpoint declares its
own 409s and 422s with `extend_schema(responses=...)` and `error(...)`.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: invalid, not_authenticated, conflict, ...")
    message = serializers.CharField(help_text="For a person; safe to show as it is.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each invalid input field's messages (400 only; `non_field_errors` for the whole).",
    )


class Error(serializers.Serializer):
    error = ErrorDetail()


WHY = {
    400: "The request's values are not valid; `fields` says which.",
    401: "No valid token or session: log in, or send `Authorization: Bearer <token>`.",
    403: "Signed in, but this account's role may not do this (or a staff or doctor session lacks its second factor).",
    404: "No such object, or it is not yours.",
    409: "Not possible in the object's present state (e.g. the slot was taken, or the visit has started).",
    422: "The Idempotency-Key was used before with a different request.",
    429: "Too many requests; the Retry-After header says when to try again.",
    503: "Busy, or a service we depend on is slow or down: nothing was changed; try again (see Retry-After).",
}


def error(status: int, why: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(Error, description=why or WHY[status])


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._shared_errors():
            code = str(status)
            responses.setdefault(code, self._get_response_for_code(error(status), code, direction=direction))
        return responses

    def _shared_errors(self) -> list[int]:
        shared = [429]
        if not any(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            shared += [401, 403]
        if "{" in self.path:
            shared.append(404)
        if self.method in ("POST", "PUT", "PATCH"):
            shared.append(400)
        if self.method != "GET":
            shared.append(503)
        return shared
