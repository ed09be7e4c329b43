"""Delivering events to the app's webhook endpoint, signed as Stripe signs them.

A single background thread posts deliveries in due order, so an API request never waits on the
app and the order a test asked for (as created, reversed, duplicated) is the order the app sees.
Failed attempts are retried with backoff without holding up other events.
"""

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from .store import State

log = logging.getLogger("stripe_standin.webhooks")

# Never route 127.0.0.1 through an HTTP proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The Stripe-Signature header: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(order=True)
class _Job:
    due: float
    order: int
    event_id: str = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(compare=False, default=1)
    generation: int = field(compare=False, default=0)


class Dispatcher:
    def __init__(self, state: State):
        self.state = state
        self._jobs: list[_Job] = []
        self._withheld: list[tuple[str, bytes]] = []
        self._order = itertools.count()
        self._generation = 0
        self._busy = False
        self._stopping = False
        self._wakeup = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()

    # -- called by the state (lock held) ----------------------------------------------------

    def submit(self, events: list[dict]) -> None:
        """Queue the deliverable events of one action, applying the test switches."""
        switches = self.state.switches
        batch = [e for e in events if self.state.deliveries[e["id"]].status == "pending"]
        if switches.reorder:
            batch.reverse()
        bodies = [(e["id"], json.dumps(e, indent=2).encode()) for e in batch]
        if switches.withhold:
            for event_id, _ in bodies:
                self.state.deliveries[event_id].status = "withheld"
            self._withheld.extend(bodies)
            return
        self._enqueue(bodies, twice=switches.duplicate, delay=switches.delay_seconds)

    def release(self, *, order: str = "as_created", twice: bool = False) -> int:
        """Send the withheld events now; returns how many events were released."""
        with self.state.lock:
            withheld, self._withheld = self._withheld, []
            if order == "reverse":
                withheld.reverse()
            for event_id, _ in withheld:
                self.state.deliveries[event_id].status = "pending"
            self._enqueue(withheld, twice=twice or self.state.switches.duplicate, delay=0)
        return len(withheld)

    def clear(self) -> None:
        with self._wakeup:
            self._generation += 1
            self._jobs.clear()
            self._withheld.clear()
            self._wakeup.notify_all()

    def _enqueue(self, bodies, *, twice: bool, delay: float) -> None:
        due = time.monotonic() + delay
        with self._wakeup:
            for event_id, body in bodies:
                for _ in range(2 if twice else 1):
                    heapq.heappush(self._jobs, _Job(due, next(self._order), event_id, body, 1, self._generation))
            self._wakeup.notify_all()

    # -- waiting ----------------------------------------------------------------------------

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or in flight (withheld events do not count)."""
        deadline = time.monotonic() + timeout
        with self._wakeup:
            while self._jobs or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wakeup.wait(remaining)
        return True

    @property
    def withheld_count(self) -> int:
        return len(self._withheld)

    # -- the worker -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._stopping and (not self._jobs or self._jobs[0].due > time.monotonic()):
                    timeout = self._jobs[0].due - time.monotonic() if self._jobs else None
                    self._wakeup.wait(timeout)
                if self._stopping:
                    return
                job = heapq.heappop(self._jobs)
                self._busy = True
            try:
                self._attempt(job)
            except Exception:  # the worker must survive anything one delivery does
                log.exception("delivering %s failed unexpectedly", job.event_id)
            finally:
                with self._wakeup:
                    self._busy = False
                    self._wakeup.notify_all()

    def _attempt(self, job: _Job) -> None:
        settings = self.state.settings
        url, secret = settings.webhook_url, settings.webhook_secret
        timestamp = int(time.time())  # real time: the receiver checks it against its own clock
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(job.body, secret, timestamp),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        started = time.monotonic()
        status, error, reply = None, None, ""
        try:
            request = urllib.request.Request(url, data=job.body, headers=headers, method="POST")  # noqa: S310
            with _opener.open(request, timeout=settings.webhook_timeout_seconds) as response:
                status = response.status
                reply = response.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status = exc.code
            reply = exc.read(2000).decode("utf-8", "replace")
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        record = {
            "attempt": job.attempt,
            "url": url,
            "at": timestamp,
            "status": status,
            "error": error,
            "response": reply[:500],
            "duration_ms": round((time.monotonic() - started) * 1000),
        }
        with self.state.lock, self._wakeup:
            if job.generation != self._generation:
                return  # the state was reset while this was in flight
            delivery = self.state.deliveries.get(job.event_id)
            if delivery is None:
                return
            delivery.attempts.append(record)
            event = self.state.find(job.event_id, "event")
            if ok:
                delivery.status = "delivered"
            elif job.attempt < settings.webhook_max_attempts:
                delivery.status = "retrying"
                backoff = settings.webhook_retry_seconds * 2 ** (job.attempt - 1)
                heapq.heappush(
                    self._jobs,
                    _Job(
                        time.monotonic() + backoff,
                        next(self._order),
                        job.event_id,
                        job.body,
                        job.attempt + 1,
                        job.generation,
                    ),
                )
                return
            else:
                delivery.status = "failed"
            if event is not None:
                event["pending_webhooks"] = 0
        if settings.verbose:
            log.info("webhook %s attempt %s -> %s %s", job.event_id, job.attempt, status, error or "")
