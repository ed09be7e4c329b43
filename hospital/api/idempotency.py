"""`Idempotency-Key`: a client that retries a write (a lost answer, a timeout) gets the first
answer again instead of a second booking.

A key is the caller's own (another user's same key is another key) and kept for
settings.API_IDEMPOTENCY_HOURS. It is claimed in a transaction of its own, committed before the
write runs, so a second request with the key, however close behind, finds it: the same request
while the first still runs is a 409 `request_in_progress`; once the first has answered, its answer
is replayed (`Idempotent-Replayed: true`); another request under the same key is a 422
`idempotency_key_reused`. An answer that says the server failed (5xx: nothing was done) lets the
key go, so the retry runs. Requests whose values do not validate never claim a key. A claim
still running after STALE_AFTER was left by a process that died: the next request may take it.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from hospital.api.errors import Conflict, Unprocessable
from hospital.middleware import UNAVAILABLE_RETRY_AFTER_SECONDS
from hospital.models import IdempotentRequest, IdempotentRequestState

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
# No request of ours runs this long (Stripe's calls have a budget of seconds): a claim this old
# and still running belongs to a process that died before it could answer, or to a request whose
# database went away before it could let the key go. The 503 of a lost database tells the client
# to retry after this long, so its retry with the same key then runs.
STALE_AFTER = dt.timedelta(seconds=UNAVAILABLE_RETRY_AFTER_SECONDS)

IN_PROGRESS = "A request with this Idempotency-Key is still being processed. Try again in a moment."
REUSED = "This Idempotency-Key was already used for a different request. Use a new key for a new request."

PARAMETER = OpenApiParameter(
    HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        f"Optional, at most {MAX_KEY_LENGTH} characters (a UUID is ideal). Sending the same request again with "
        "the same key within 24 hours returns the first answer instead of doing it twice."
    ),
)


class _Key(serializers.Serializer):
    key = serializers.CharField(max_length=MAX_KEY_LENGTH, trim_whitespace=False)


def fingerprint(request) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON (sorted keys, no spaces)."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{request.method}\n{request.path}\n{body}".encode()).hexdigest()


def key_of(request) -> str | None:
    """The request's key, or None when it sent none; a bad key is a 400 naming the header."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    checked = _Key(data={"key": raw})
    if not checked.is_valid() or not raw.strip():
        messages = checked.errors.get("key") or ["This field may not be blank."]
        raise exceptions.ValidationError({HEADER: messages})
    return raw


def _lifetime() -> dt.timedelta:
    return dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)


def _claim(*, user, key: str, fingerprint: str, now: dt.datetime) -> IdempotentRequest | None:
    """Claim `key` for this request and commit the claim; the row already holding it, if any."""
    with transaction.atomic():
        # Keys past their lifetime are forgotten, and claims of dead processes let go: the
        # caller's own, each time they send a key.
        IdempotentRequest.objects.filter(user=user).filter(
            Q(created_at__lte=now - _lifetime())
            | Q(state=IdempotentRequestState.RUNNING, created_at__lte=now - STALE_AFTER)
        ).delete()
    try:
        with transaction.atomic():
            IdempotentRequest.objects.create(user=user, key=key, fingerprint=fingerprint, created_at=now)
    except IntegrityError:
        held = IdempotentRequest.objects.filter(user=user, key=key).first()
        if held is None:  # let go a moment ago by a request that failed: this one may run next time
            raise Conflict(IN_PROGRESS, code="request_in_progress") from None
        return held
    return None


def _replay(held: IdempotentRequest, fingerprint: str) -> Response:
    if held.fingerprint != fingerprint:
        raise Unprocessable(REUSED, code="idempotency_key_reused")
    if held.state != IdempotentRequestState.DONE:
        raise Conflict(IN_PROGRESS, code="request_in_progress")
    return Response(held.response_body, status=held.response_status, headers={REPLAYED_HEADER: "true"})


def _release(*, user, key: str) -> None:
    IdempotentRequest.objects.filter(user=user, key=key, state=IdempotentRequestState.RUNNING).delete()


def once_per_key(view, request, run: Callable[[], Response]) -> Response:
    """Answer `request` by calling `run()`, at most once per Idempotency-Key the caller sends.

    `run` raises API errors as a view does; a refusal (4xx) is kept and replayed like a success,
    a server failure (5xx, or anything unexpected) releases the key and is raised on."""
    key = key_of(request)
    if key is None:
        return run()
    user, digest = request.user, fingerprint(request)
    held = _claim(user=user, key=key, fingerprint=digest, now=timezone.now())
    if held is not None:
        return _replay(held, digest)
    try:
        try:
            response = run()
        except (exceptions.APIException, Http404, PermissionDenied) as exc:
            if getattr(exc, "status_code", 400) >= 500:
                raise
            response = view.handle_exception(exc)  # the refusal as the client sees it, in our error shape
    except BaseException:
        _release(user=user, key=key)
        raise
    if response.status_code >= 500:
        _release(user=user, key=key)
        return response
    body = json.loads(JSONRenderer().render(response.data) or b"null")
    IdempotentRequest.objects.filter(user=user, key=key).update(
        state=IdempotentRequestState.DONE, response_status=response.status_code, response_body=body
    )
    return response
