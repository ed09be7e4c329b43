"""Every Stripe call the project makes goes through here.

One place sets the base URL (real Stripe or the local stand-in), the key, a short timeout and a
single retry: these calls run inside requests, and dj-stripe's webhook re-fetch even runs inside
a transaction, so stripe-python's defaults (80 s, 2 retries) would hold a worker or a lock for
minutes. Results are plain dicts, so callers never depend on stripe-python's object classes.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from django.conf import settings
from djstripe.settings import djstripe_settings

logger = logging.getLogger(__name__)


class StripeUnavailable(Exception):
    """Stripe could not be reached, timed out or failed on its side: the call may be retried.

    `server_error`: Stripe answered 5xx. It stores that answer under the idempotency key and
    replays it for 24 hours, so retrying with the same key cannot succeed.
    """

    def __init__(self, message: str, *, server_error: bool = False):
        super().__init__(message)
        self.server_error = server_error


class StripeRejected(Exception):
    """Stripe refused the request (4xx): retrying the same request will not help."""

    def __init__(self, message: str, *, code: str = "", param: str = "", status: int | None = None):
        super().__init__(message)
        self.code = code
        self.param = param
        self.status = status


# The monotonic time by which every Stripe call of the current page request must be done (None:
# no budget, e.g. a worker or dj-stripe's webhook re-fetch, which keep the per-call timeout).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("stripe_deadline", default=None)
# Below this, a call (or a retry) is not started: it could only time out.
MIN_CALL_SECONDS = 0.5


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """All Stripe calls inside share `seconds`: each call's timeout is what is left (or the usual
    timeout if shorter), no retry starts when too little is left, and once it is spent calls fail
    at once as StripeUnavailable. A budget inside another never extends it."""
    deadline = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def _seconds_left() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def budget_spent() -> bool:
    """Whether the current time budget leaves too little for another call (False with none)."""
    left = _seconds_left()
    return left is not None and left < MIN_CALL_SECONDS


class _BudgetedClient(stripe.RequestsClient):
    """stripe-python's requests client, with each call's timeout and retries bound by the budget."""

    @property
    def _timeout(self) -> float:
        left = _seconds_left()
        return self._usual_timeout if left is None else max(min(self._usual_timeout, left), 0.01)

    @_timeout.setter
    def _timeout(self, value: float) -> None:
        self._usual_timeout = value

    def _should_retry(self, response, api_connection_error, num_retries, max_network_retries):
        left = _seconds_left()
        if left is not None and left < MIN_CALL_SECONDS + self.INITIAL_DELAY:
            return False  # the pause before a retry and the retry itself would not fit
        return super()._should_retry(response, api_connection_error, num_retries, max_network_retries)


def configure() -> None:
    """Apply the timeout and retry policy to stripe-python's global client (dj-stripe uses it too)."""
    stripe.max_network_retries = settings.STRIPE_MAX_NETWORK_RETRIES
    stripe.default_http_client = _BudgetedClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)
    api_host = getattr(settings, "STRIPE_API_HOST", "")
    if api_host:
        stripe.api_base = api_host


def _api_key() -> str:
    return djstripe_settings.STRIPE_SECRET_KEY


def _call(operation, /, *args: Any, **params: Any) -> dict:
    if budget_spent():
        raise StripeUnavailable("The time allowed for Stripe in this request is used up.")
    try:
        result = operation(*args, api_key=_api_key(), **params)
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise StripeUnavailable(str(exc.user_message or exc)) from exc
    except stripe.StripeError as exc:
        status = exc.http_status
        if status in (401, 403):
            # A revoked or rotated key is our configuration, not the request: retry once fixed.
            logger.error("Stripe refused our API key (%s): %s", status, exc)
            raise StripeUnavailable(str(exc.user_message or exc)) from exc
        if status is None or status >= 500 or status == 409:
            raise StripeUnavailable(str(exc.user_message or exc), server_error=(status or 0) >= 500) from exc
        raise StripeRejected(
            str(exc.user_message or exc), code=exc.code or "", param=getattr(exc, "param", "") or "", status=status
        ) from exc
    return result.to_dict()


def customer_create(*, email: str, name: str, metadata: dict[str, str], idempotency_key: str) -> dict:
    return _call(stripe.Customer.create, email=email, name=name, metadata=metadata, idempotency_key=idempotency_key)


def customers_with_email(email: str) -> list[dict]:
    return _call(stripe.Customer.list, email=email, limit=100)["data"]


def checkout_session_create(*, params: dict[str, Any], idempotency_key: str) -> dict:
    return _call(stripe.checkout.Session.create, idempotency_key=idempotency_key, **params)


def checkout_session_retrieve(session_id: str) -> dict:
    return _call(stripe.checkout.Session.retrieve, id=session_id)


def checkout_session_expire(session_id: str) -> dict:
    return _call(stripe.checkout.Session.expire, session_id)


def refund_create(
    *, payment_intent: str, amount: int, metadata: dict[str, str], idempotency_key: str, reason: str = ""
) -> dict:
    params: dict[str, Any] = {"payment_intent": payment_intent, "amount": amount, "metadata": metadata}
    if reason:
        params["reason"] = reason
    return _call(stripe.Refund.create, idempotency_key=idempotency_key, **params)


def refunds_for_payment_intent(payment_intent: str) -> list[dict]:
    return _call(stripe.Refund.list, payment_intent=payment_intent, limit=100)["data"]


def payment_intent_with_charge(payment_intent: str) -> dict:
    """The payment intent with its latest charge expanded: what was captured and refunded, in one call."""
    return _call(stripe.PaymentIntent.retrieve, id=payment_intent, expand=["latest_charge"])


def disputes_for_charge(charge: str) -> list[dict]:
    return _call(stripe.Dispute.list, charge=charge, limit=100)["data"]
