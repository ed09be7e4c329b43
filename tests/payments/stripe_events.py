"""Posting Stripe events to the real webhook URL, signed exactly as Stripe signs them."""

from __future__ import annotations

import json
import time

from django.conf import settings

from payments.webhooks import webhook_url_path
from stripe_standin.webhooks import sign


def stripe_signature(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """`Stripe-Signature: t=<ts>,v1=<HMAC-SHA256 of "<ts>.<body>">`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = settings.STRIPE_WEBHOOK_SECRET if secret is None else secret
    return sign(body, secret, timestamp)


def post_event(client, event: dict | bytes, *, signature: str | None = None, headers: dict | None = None, **sign):
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    all_headers = {"Stripe-Signature": signature if signature is not None else stripe_signature(body, **sign)}
    all_headers.update(headers or {})
    return client.post(webhook_url_path(), data=body, content_type="application/json", headers=all_headers)
