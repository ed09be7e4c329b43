"""In-memory state: Stripe objects, events, idempotency records, the clock and the test switches.

One re-entrant lock guards everything. API calls, pay-page posts, control calls and the expiry
ticker each take it for the length of one action, so every action sees and leaves a consistent
world; webhook delivery runs outside it.
"""

import copy
import hashlib
import itertools
import secrets
import string
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from .config import Settings
from .errors import no_such

_ALPHABET = string.ascii_letters + string.digits
REFUND_EVENTS_SINCE = "2024-10-28"


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Clock:
    """Wall-clock time plus an offset the tests move forward (no sleeping to see a session expire)."""

    def __init__(self):
        self.offset = 0.0

    def now(self) -> int:
        return int(time.time() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class FailRule:
    """Make the next `count` matching API calls fail: "500" answers api_error, "timeout" hangs first."""

    mode: str
    count: int = 1
    path_prefix: str = ""
    method: str = ""
    timeout_seconds: float = 30.0

    def matches(self, method: str, path: str) -> bool:
        return (not self.method or self.method.upper() == method) and path.startswith(self.path_prefix or "/v1/")


@dataclass
class Switches:
    """Misbehaviours a test turns on to prove the app copes with what real Stripe may do."""

    duplicate: bool = False
    reorder: bool = False
    delay_seconds: float = 0.0
    # A slow Stripe, not a down one: every API call answers, after this long.
    api_delay_seconds: float = 0.0
    withhold: bool = False
    fail_api: FailRule | None = None

    def take_failure(self, method: str, path: str) -> FailRule | None:
        rule = self.fail_api
        if rule is None or rule.count <= 0 or not rule.matches(method, path):
            return None
        rule.count -= 1
        if rule.count <= 0:
            self.fail_api = None
        return rule


@dataclass
class IdempotencyRecord:
    method: str
    path: str
    fingerprint: str
    created: int
    request_id: str
    in_flight: bool = True
    status: int = 0
    body: bytes = b""


@dataclass
class Delivery:
    """What happened to one event on its way to the webhook endpoint."""

    status: str  # not_enabled, no_endpoint, pending, withheld, delivered, failed
    attempts: list = field(default_factory=list)


class State:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = threading.RLock()
        self.clock = Clock()
        self.switches = Switches()
        self.account_id = "acct_" + _stable_suffix(settings.api_key)
        self.started = int(time.time())
        # Called with the events one action produced, in order, while the lock is held.
        self.on_events = lambda events: None
        self._batch: list[dict] | None = None
        self._request = {"id": None, "idempotency_key": None}
        self.clear()

    def clear(self) -> None:
        """Forget every object, event and idempotency record (the account and settings stay)."""
        with self.lock:
            self.objects: dict[str, dict] = {}
            self.kinds: dict[str, str] = {}
            self.sequence: dict[str, int] = {}
            self._counter = itertools.count()
            self.events: list[str] = []
            self.deliveries: dict[str, Delivery] = {}
            self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
            # Request details Stripe keeps but does not show on the object (a session's payment_intent_data).
            self.private: dict[str, dict] = {}
            # Every /v1 call received, in order (method, path, idempotency key), for tests to count.
            self.requests: list[dict] = []
            self.clock = Clock()
            self.switches = Switches()

    # -- objects -------------------------------------------------------------------------

    def add(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        self.kinds[obj["id"]] = obj["object"]
        self.sequence[obj["id"]] = next(self._counter)
        return obj

    def find(self, object_id: str, kind: str | None = None) -> dict | None:
        obj = self.objects.get(object_id)
        if obj is None or (kind and obj["object"] != kind):
            return None
        return obj

    def get(self, object_id: str, kind: str, *, param: str = "id", status: int = 404) -> dict:
        obj = self.find(object_id, kind)
        if obj is None:
            raise no_such(kind, object_id, param=param, status=status)
        return obj

    def snapshot(self, obj: dict) -> dict:
        """The object as the API shows it, a copy. (Since API version 2022-11-15 a charge's
        `refunds` list is only there when asked for with expand[]=refunds.)"""
        return copy.deepcopy(obj)

    def charge_refunds(self, charge: dict) -> dict:
        refunds = [copy.deepcopy(r) for r in self.newest_first("refund") if r["charge"] == charge["id"]]
        return {"object": "list", "data": refunds, "has_more": False, "url": f"/v1/charges/{charge['id']}/refunds"}

    def newest_first(self, kind: str) -> list[dict]:
        found = [obj for obj in self.objects.values() if obj["object"] == kind]
        return sorted(found, key=lambda obj: (obj["created"], self.sequence[obj["id"]]), reverse=True)

    # -- events --------------------------------------------------------------------------

    @contextmanager
    def action(self, request_id: str | None = None, idempotency_key: str | None = None):
        """Group the events of one action into a batch, handed to the webhook dispatcher at the end.

        Events of API-driven actions name the request, as Stripe's do; automatic ones (a payment on
        the hosted page, an expiry) carry a null request id.
        """
        with self.lock:
            if self._batch is not None:  # nested: the outer action owns the batch
                yield
                return
            self._batch = []
            self._request = {"id": request_id, "idempotency_key": idempotency_key}
            try:
                yield
            finally:
                batch, self._batch = self._batch, None
                self._request = {"id": None, "idempotency_key": None}
                if batch:
                    self.on_events(batch)

    def emit(self, event_type: str, obj: dict, previous_attributes: dict | None = None) -> dict:
        data = {"object": self.snapshot(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = copy.deepcopy(previous_attributes)
        if not self.event_enabled(event_type):
            delivery = Delivery(status="not_enabled")
        else:
            delivery = Delivery(status="pending" if self.settings.webhook_url else "no_endpoint")
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": self.settings.api_version,
            "created": self.clock.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1 if delivery.status == "pending" else 0,
            "request": dict(self._request),
            "type": event_type,
        }
        self.add(event)
        self.events.append(event["id"])
        self.deliveries[event["id"]] = delivery
        if self._batch is not None:
            self._batch.append(event)
        else:
            self.on_events([event])
        return event

    def sends_refund_events_for_charges(self) -> bool:
        """Stripe sends refund.created / updated / failed for a charge's refunds only from API
        version 2024-10-28 on; older versions tell of them by charge.refunded (and
        charge.refund.updated) alone. Versions are dates, so they compare as text."""
        return self.settings.api_version[:10] >= REFUND_EVENTS_SINCE

    def event_enabled(self, event_type: str) -> bool:
        enabled = self.settings.enabled_events
        return "*" in enabled or event_type in enabled


def _stable_suffix(text: str) -> str:
    """A 16-character id suffix derived from `text`, so the account id survives restarts."""
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(_ALPHABET[byte % len(_ALPHABET)] for byte in digest[:16])
