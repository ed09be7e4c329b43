"""The HTTP front: authentication, idempotency, the failure switch, and routing to API/control/pages.

Every response carries a `Request-Id`. POSTs to /v1 with an `Idempotency-Key` (stripe-python
sends one on every POST) go through Stripe's idempotency rules: the first stored response is
replayed byte for byte, a key reused with other parameters is a 400, and a key whose first
request is still running is a 409.
"""

import base64
import binascii
import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import api, control, flows, pay_page
from .config import Settings
from .errors import StripeError, api_error
from .forms import parse_form
from .store import IdempotencyRecord, State, new_id
from .webhooks import Dispatcher

log = logging.getLogger("stripe_standin")

IDEMPOTENCY_WINDOW = 24 * 60 * 60  # Stripe keeps keys for at least 24 hours
NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer "
    "auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
    "details, or we can help at https://support.stripe.com/."
)


def mask_key(key: str) -> str:
    """Show a key the way Stripe's error does: its prefix and last four characters."""
    match = re.match(r"^((?:sk|pk|rk)_(?:test|live)_)", key)
    prefix = match.group(1) if match else ""
    rest = key[len(prefix) :]
    if len(rest) <= 4:
        return prefix + "*" * len(rest)
    return prefix + "*" * (len(rest) - 4) + rest[-4:]


def _json_bytes(body: dict) -> bytes:
    return (json.dumps(body, indent=2) + "\n").encode()


class App:
    """One stand-in: state, webhook dispatcher, expiry ticker and the HTTP server."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.state = State(settings)
        self.dispatcher = Dispatcher(self.state)
        self.state.on_events = self.dispatcher.submit
        self.httpd = ThreadingHTTPServer((settings.host, settings.port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.app = self
        self.port = self.httpd.server_address[1]
        if not settings.public_url:
            settings.public_url = f"http://{settings.host}:{self.port}"
        settings.public_url = settings.public_url.rstrip("/")
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="expiry-ticker", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    def start_background(self) -> None:
        self.dispatcher.start()
        self._ticker.start()

    def serve_forever(self) -> None:
        self.start_background()
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self._stop.set()
        self.dispatcher.stop()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _tick(self) -> None:
        while not self._stop.wait(self.settings.tick_seconds):
            try:
                with self.state.lock, self.state.action():
                    flows.expire_due_sessions(self.state)
            except Exception:
                log.exception("expiry ticker")


class Handler(BaseHTTPRequestHandler):
    server_version = "stripe-standin/1.0"
    sys_version = ""
    # Keep-alive, as api.stripe.com offers: stripe-python reuses its connections.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the body would wait for the
    # client's delayed ACK, about 40 ms on every keep-alive call.
    disable_nagle_algorithm = True

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def log_message(self, format, *args):
        if self.server.app.settings.verbose:
            log.info("%s %s", self.address_string(), format % args)

    @property
    def app(self) -> App:
        return self.server.app

    def _handle(self, method: str) -> None:
        request_id = new_id("req_", 14)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""  # always drain: the connection is reused
        url = urlsplit(self.path)
        path = url.path
        try:
            if path in ("/", "/_standin/health"):
                health = {"ok": True, "service": "stripe stand-in", "account": self.app.state.account_id}
                self._send(200, _json_bytes(health), request_id)
            elif path.startswith(("/pay/", "/receipts/")):
                self._page(method, path, raw, request_id)
            elif path.startswith(("/v1/", "/_standin/")):
                key = self._authenticate(request_id)
                if key is None:
                    return
                if path.startswith("/v1/"):
                    self._api(method, path, url.query, raw, request_id, key)
                else:
                    self._control(method, path, raw, request_id)
            else:
                self._error(api.unrecognized(method, path), request_id)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test does this on purpose)

    # -- plumbing ---------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: bytes,
        request_id: str,
        headers: dict | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", request_id)
        self.send_header("Stripe-Version", self.headers.get("Stripe-Version") or self.app.settings.api_version)
        self.send_header("Cache-Control", "no-cache, no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, error: StripeError, request_id: str, headers: dict | None = None) -> None:
        self._send(error.status, _json_bytes(error.body()), request_id, headers)

    def _authenticate(self, request_id: str) -> str | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, credential = header.partition(" ")
        key = credential.strip() if scheme.lower() == "bearer" else ""
        if scheme.lower() == "basic":  # curl -u sk_test_...: also works against Stripe
            try:
                key = base64.b64decode(credential.strip()).decode("utf-8", "replace").partition(":")[0]
            except binascii.Error:
                key = ""
        if key == self.app.settings.api_key:
            return key
        message = NO_KEY if not key else f"Invalid API Key provided: {mask_key(key)}"
        self._error(StripeError(message, status=401), request_id, {"WWW-Authenticate": 'Basic realm="Stripe"'})
        return None

    # -- /v1 --------------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: str, raw: bytes, request_id: str, api_key: str) -> None:
        state = self.app.state
        try:
            params = parse_form(raw.decode("utf-8") if method == "POST" else query)
        except StripeError as error:
            self._error(error, request_id)
            return
        handler, args = api.find_route(method, path)
        if handler is None:
            self._error(api.unrecognized(method, path), request_id)
            return

        key = self.headers.get("Idempotency-Key") if method == "POST" else None
        with state.lock:
            state.requests.append({"method": method, "path": path, "idempotency_key": key})
            delay = state.switches.api_delay_seconds
        if delay:
            time.sleep(delay)  # slow, not broken: the call completes, however long the client waited
        record = found = None
        if key:
            fingerprint = json.dumps(params, sort_keys=True)
            with state.lock:
                records = state.idempotency  # a reset may swap this dict while the request runs
                found = records.get((api_key, key))
                if found and found.created <= state.clock.now() - IDEMPOTENCY_WINDOW:
                    found = None
                if found is None:
                    record = IdempotencyRecord(method, path, fingerprint, state.clock.now(), request_id)
                    records[(api_key, key)] = record
        if found is not None:
            self._replay(found, method, path, fingerprint, key, request_id)
            return

        status, body, stored = self._execute(handler, args, method, path, params, request_id, key)
        if record is not None:
            with state.lock:
                if stored:
                    record.status, record.body, record.in_flight = status, body, False
                else:
                    records.pop((api_key, key), None)
        self._send(status, body, request_id, {"Idempotency-Key": key} if key else {})

    def _replay(
        self, record: IdempotencyRecord, method: str, path: str, fingerprint: str, key: str, request_id: str
    ) -> None:
        if record.in_flight:
            self._error(
                StripeError(
                    "There is currently another in-progress request using this Stripe-Idempotency-Key (that probably "
                    f"means you submitted twice, and the other request is still going through): {key}. Please try "
                    "again later.",
                    status=409,
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                ),
                request_id,
                {"Idempotency-Key": key, "Stripe-Should-Retry": "true"},
            )
        elif (record.method, record.path) != (method, path):
            self._error(
                StripeError(
                    "Keys for idempotent requests can only be used for the same endpoint they were first used for "
                    f"('{record.method} {record.path}' vs '{method} {path}'). Try using a key other than '{key}' if "
                    "you meant to execute a different request.",
                    type="idempotency_error",
                ),
                request_id,
                {"Idempotency-Key": key},
            )
        elif record.fingerprint != fingerprint:
            self._error(
                StripeError(
                    "Keys for idempotent requests can only be used with the same parameters they were first used "
                    f"with. Try using a key other than '{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                ),
                request_id,
                {"Idempotency-Key": key},
            )
        else:
            headers = {"Idempotency-Key": key, "Idempotent-Replayed": "true", "Original-Request": record.request_id}
            self._send(record.status, record.body, request_id, headers)

    def _execute(self, handler, args, method, path, params, request_id, key) -> tuple[int, bytes, bool]:
        """Run one API call; returns (status, body, whether the idempotency layer keeps it)."""
        state = self.app.state
        with state.lock:
            failure = state.switches.take_failure(method, path)
        if failure and failure.mode == "timeout":
            # Slow, not broken: the call completes after the client has stopped waiting.
            time.sleep(failure.timeout_seconds)
        elif failure:
            return 500, _json_bytes(api_error().body()), True
        request = api.Request(state, method, path, params, request_id, key)
        try:
            with state.lock, state.action(request_id, key):
                result = handler(request, **args)
            return 200, _json_bytes(result), True
        except StripeError as error:
            return error.status, _json_bytes(error.body()), error.stored
        except Exception:
            log.exception("%s %s failed", method, path)
            return 500, _json_bytes(api_error().body()), True

    # -- /_standin --------------------------------------------------------------------------

    def _control(self, method: str, path: str, raw: bytes, request_id: str) -> None:
        handler, args = control.find_route(method, path)
        if handler is None:
            self._error(api.unrecognized(method, path), request_id)
            return
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            self._error(StripeError("The control API takes a JSON object."), request_id)
            return
        try:
            result = handler(self.app, body, **args)
        except StripeError as error:
            self._error(error, request_id)
            return
        except (TypeError, ValueError) as error:
            self._error(StripeError(f"Bad control request: {error}"), request_id)
            return
        self._send(200, _json_bytes(result), request_id)

    # -- pages ------------------------------------------------------------------------------

    def _page(self, method: str, path: str, raw: bytes, request_id: str) -> None:
        if method not in ("GET", "POST"):
            self._send(405, b"Method not allowed\n", request_id, {"Allow": "GET, POST"}, "text/plain")
            return
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)) if method == "POST" else {}
        page = pay_page.handle(self.app.state, method, path, form)
        self._send(page.status, page.body.encode(), request_id, page.headers, "text/html; charset=utf-8")
