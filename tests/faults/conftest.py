"""A real app server (gunicorn, as production runs it) whose database connections go through a
TcpProxy the test can cut, and logged-in patients to drive it over HTTP."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.faults.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
# This helper's port range: nothing else on the machine binds there.
PORTS = range(18500, 18600)
START_TIMEOUT_SECONDS = 30
# Every HTTP wait of a fault test: far above any answer the tests accept.
HTTP_TIMEOUT_SECONDS = 20


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


@dataclass
class AppServer:
    url: str
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def db_proxy(transactional_db):
    """A proxy to the test database's PostgreSQL server; cut at the end whatever happened."""
    target = (connection.settings_dict["HOST"] or "127.0.0.1", int(connection.settings_dict["PORT"] or 5432))
    with TcpProxy(target) as proxy:
        yield proxy


@pytest.fixture
def app_server(db_proxy, standin, tmp_path):
    """gunicorn (gthread, 2 workers x 4 threads) on the test database through `db_proxy`, Stripe at
    the stand-in. The test database is the transactional one, so what the test writes the server
    reads, and the other way round. Killed (its whole process group) at the end."""
    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.server_settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@127.0.0.1:{db_proxy.port}/{db['NAME']}",
        "FAULTS_STRIPE_API_BASE": standin.url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "BOOKING_RATE_LIMIT_PER_HOUR": "100000",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "gunicorn.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "hospital.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread", "--workers", "2", "--threads", "4",
        "--timeout", "30", "--graceful-timeout", "2", "--log-level", "warning",
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = AppServer(url=f"http://127.0.0.1:{port}", log=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{server.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.url + "/accounts/login/", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in {START_TIMEOUT_SECONDS} s:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@dataclass(frozen=True)
class Browser:
    """A logged-in user's cookies, to send with plain HTTP requests (a new connection each time)."""

    base_url: str
    session: str
    csrf: str

    def post(self, path: str, data: dict | None = None) -> httpx.Response:
        return httpx.post(
            self.base_url + path,
            data={"csrfmiddlewaretoken": self.csrf, **(data or {})},
            cookies={settings.SESSION_COOKIE_NAME: self.session, settings.CSRF_COOKIE_NAME: self.csrf},
            timeout=HTTP_TIMEOUT_SECONDS,
        )


def logged_in(user, base_url: str) -> Browser:
    """Log `user` in (a session row in the shared database) and give their browser's cookies."""
    client = Client()
    client.force_login(user)
    # An unmasked secret of CSRF_SECRET_LENGTH is a valid token and cookie both.
    return Browser(base_url, client.cookies[settings.SESSION_COOKIE_NAME].value, secrets.token_hex(16))
