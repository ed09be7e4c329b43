"""Process settings and defaults shared by the server, the CLI and the test helper."""

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 12111
# dj-stripe refuses keys that do not look real: sk_test_ followed by at least 24 letters or digits.
DEFAULT_API_KEY = "sk_test_standinLocalOnlyKey000000000"
DEFAULT_WEBHOOK_SECRET = "whsec_standinLocalOnlySecret000000000"  # noqa: S105 - a local test secret
DEFAULT_MERCHANT_NAME = "Stand-in Hospital"
FALLBACK_API_VERSION = "2026-08-26.dahlia"

# The events the project's webhook endpoint subscribes to (DESIGN §4 step 3); a test holds this
# equal to payments.receivers.HANDLED_EVENTS, which the stand-in cannot import. Everything else is
# still created and retrievable, just not posted.
DEFAULT_ENABLED_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.payment_failed",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
    # Before API version 2024-10-28 a charge's refund that fails later is told only by this event.
    "charge.refund.updated",
    "charge.dispute.created",
    "charge.dispute.closed",
)


def installed_stripe_api_version() -> str:
    """The API version pinned by the installed stripe-python, read from its source without importing it.

    Events must carry the version the app's client speaks; importing stripe would make the
    stand-in depend on it, so the file is read as text and a missing package falls back.
    """
    spec = importlib.util.find_spec("stripe")
    if spec and spec.origin:
        version_file = Path(spec.origin).parent / "_api_version.py"
        if version_file.exists():
            match = re.search(r'CURRENT\s*=\s*"([^"]+)"', version_file.read_text())
            if match:
                return match.group(1)
    return FALLBACK_API_VERSION


@dataclass
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key: str = DEFAULT_API_KEY
    webhook_url: str = ""
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    public_url: str = ""
    api_version: str = FALLBACK_API_VERSION
    enabled_events: tuple[str, ...] = DEFAULT_ENABLED_EVENTS
    merchant_name: str = DEFAULT_MERCHANT_NAME
    # Webhook retries: Stripe retries for days; a test wants a few quick ones.
    webhook_max_attempts: int = 4
    webhook_retry_seconds: float = 0.5
    webhook_timeout_seconds: float = 10.0
    # How often the background ticker looks for Checkout Sessions past their expires_at.
    tick_seconds: float = 0.25
    verbose: bool = False
    extra: dict = field(default_factory=dict)
