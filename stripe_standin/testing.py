"""Run a stand-in in a subprocess for tests and scripts.

    with StandinProcess(webhook_url="http://127.0.0.1:8000/stripe/webhook/<uuid>/") as standin:
        stripe.api_base, stripe.api_key = standin.url, standin.api_key
        ...
        standin.control("/config", withhold=True)
        standin.wait_idle()

The subprocess picks its own free port (``--port 0``) and reports it on its first line, so
parallel test runs never collide.
"""

import collections
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .config import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 never goes via a proxy


class StandinError(RuntimeError):
    """A control call answered with an error; `.status` and `.body` hold Stripe's envelope."""

    def __init__(self, status: int, body: dict):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class StandinProcess:
    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        webhook_url: str = "",
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        host: str = "127.0.0.1",
        port: int = 0,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 15.0,
    ):
        self.api_key = api_key
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.host = host
        self.port = port
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.url = ""
        self._process: subprocess.Popen | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=400)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "StandinProcess":
        command = [
            sys.executable,
            "-m",
            "stripe_standin",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--api-key",
            self.api_key,
            "--webhook-secret",
            self.webhook_secret,
            "--webhook-url",
            self.webhook_url,
            *self.extra_args,
        ]
        python_path = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": python_path, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            cwd=_PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def read_output():
            for line in self._process.stdout:
                self._output.append(line.rstrip("\n"))
                if not self.url and "listening on " in line:
                    self.url = line.split("listening on ", 1)[1].strip()
                    ready.set()
            ready.set()  # the process ended

        threading.Thread(target=read_output, name="standin-output", daemon=True).start()
        if not ready.wait(self.startup_timeout) or not self.url:
            self.stop()
            raise RuntimeError("stripe stand-in did not start:\n" + self.output())
        self.health()
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "StandinProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def output(self) -> str:
        """What the process printed (for a failing test's message)."""
        return "\n".join(self._output)

    # -- control API ------------------------------------------------------------------------

    def request(self, method: str, path: str, body: dict | None = None, *, timeout: float = 30) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - self.url is the stand-in's own http:// address
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        try:
            with _opener.open(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise StandinError(error.code, json.loads(error.read() or b"{}")) from None

    def control(self, path: str, method: str = "POST", **body) -> dict:
        """Call `/_standin<path>` with `body` as JSON, e.g. ``control("/config", duplicate=True)``."""
        return self.request(method, "/_standin" + path, body if method == "POST" else None)

    def health(self) -> dict:
        return self.request("GET", "/_standin/health")

    def reset(self) -> dict:
        return self.control("/reset")

    def configure(self, **switches) -> dict:
        return self.control("/config", **switches)

    def events(self) -> list[dict]:
        """Every event so far, oldest first, with its delivery status and attempts."""
        return self.control("/events", method="GET")["data"]

    def advance_clock(self, seconds: float) -> dict:
        return self.control("/clock", advance_seconds=seconds)

    def wait_idle(self, timeout: float = 10) -> bool:
        """Wait until every queued webhook has been delivered or has given up."""
        return self.control("/wait", timeout=timeout)["idle"]

    def pay(self, session_id: str, card: str = "4242 4242 4242 4242", **details) -> dict:
        """Do what a patient does on the hosted page; returns {session, payment_intent, events}."""
        return self.control(f"/checkout/sessions/{urllib.parse.quote(session_id)}/pay", card=card, **details)
