"""Every Stripe call the project makes goes through here.

One place sets the base URL (real Stripe or the local stand-in), the key, a short timeout and a
single retry: these calls run inside requests, and dj-stripe's webhook re-fetch even runs inside
a transaction, so stripe-python's defaults (80 s, 2 retries) would hold a worker or a lock for
minutes. Results are plain dicts, so callers never depend on stripe-python's object classes.
"""

from __future__ import annotations

import logging
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


def configure() -> None:
    """Apply the timeout and retry policy to stripe-python's global client (dj-stripe uses it too)."""
    stripe.max_network_retries = settings.STRIPE_MAX_NETWORK_RETRIES
    stripe.default_http_client = stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)
    api_host = getattr(settings, "STRIPE_API_HOST", "")
    if api_host:
        stripe.api_base = api_host


def _api_key() -> str:
    return djstripe_settings.STRIPE_SECRET_KEY


def _call(operation, /, *args: Any, **params: Any) -> dict:
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
