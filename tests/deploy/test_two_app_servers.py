"""Scale-out on one machine: two app servers (gunicorn with hospital/gunicorn.conf.py) on two ports,
sharing the database and Redis, and one task worker. A patient logs in and books on server A,
Stripe's webhook reaches server B, and the visit ends confirmed, with one confirmation e-mail
(also when the event is told again to server A), shown on both servers to the session made on A."""

import contextlib
import datetime as dt
import email
import email.policy
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.db import connection

from appointments.models import Appointment, AppointmentStatus
from hospital.models import EmailStatus, OutboundEmail
from hospital.services import slots_generate
from payments.models import PaymentStatus
from payments.webhooks import webhook_endpoint_ensure, webhook_url_path
from tests.e2e.helpers import wait_for
from tests.factories import TEST_PASSWORD, DoctorFactory, PatientFactory, UserFactory, WorkingHoursFactory
from tests.payments.stripe_events import stripe_signature
from tests.redis_server import redis_or_skip, redis_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# This project's ports for the test; two free ones are taken, so parallel runs of the suite
# (SQLite and PostgreSQL at once) do not collide.
PORTS = range(18410, 18420)
REDIS_DB = 5


class Background:
    """A process of the deployment, in its own process group (gunicorn's workers included), its
    output in a file; stopped, and killed if it lingers, by the fixture that started it."""

    def __init__(self, command: list[str], *, env: dict[str, str], log: Path):
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and programs
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ask_to_stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        self.ask_to_stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # workers left behind by a master that died
        self.process.wait(timeout=5)


def database_url() -> str:
    """The test database, for processes outside this one (they see what the test commits)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{urllib.parse.quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{urllib.parse.quote(db['USER'])}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def redis_key_prefix():
    """Redis DB 5, under a prefix of this run's own; its keys are deleted after."""
    client = redis_or_skip(REDIS_DB)
    prefix = f"two-servers-{secrets.token_hex(4)}"
    yield prefix
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def free_ports(count: int) -> list[int]:
    free = []
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                free.append(port)
        if len(free) == count:
            return free
    raise AssertionError(f"fewer than {count} free ports in {PORTS}")


@pytest.fixture
def deployment(tmp_path, standin, redis_key_prefix):
    """Server A and server B (1 worker process x 2 threads each: the machine has 2 cores), one
    `db_worker` for e-mails, the stand-in posting its webhooks to B; e-mails written to files."""
    server_a, server_b = (f"http://127.0.0.1:{port}" for port in free_ports(2))
    webhook_endpoint_ensure(base_url=server_b)
    standin.control("config", withhold=False, webhook_url=server_b + webhook_url_path())
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.deploy.app_server_settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(),
        "CACHE_URL": redis_url(REDIS_DB),
        "TEST_CACHE_KEY_PREFIX": redis_key_prefix,
        "EMAIL_URL": f"filemail:///{mail_dir}",  # django-environ drops one leading slash
        "STRIPE_API_BASE": standin.url,
        "SITE_URL": server_a,
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
        "SQLITE_BUSY_TIMEOUT_SECONDS": "30",
        "PYTHONUNBUFFERED": "1",
    }
    gunicorn = [str(BIN / "gunicorn"), "-c", "hospital/gunicorn.conf.py", "hospital.wsgi"]
    processes = {}
    try:
        for name, url in [("A", server_a), ("B", server_b)]:
            bind = {"GUNICORN_BIND": url.removeprefix("http://")}
            processes[name] = Background(gunicorn, env=env | bind, log=tmp_path / f"server-{name}.log")
        processes["worker"] = Background(
            [sys.executable, "manage.py", "db_worker", "--queue-name", "default", "--no-reload", "--interval", "0.2"],
            env=env,
            log=tmp_path / "worker.log",
        )
        for name, url in [("A", server_a), ("B", server_b)]:
            wait_until_serving(url, processes[name])
        yield {
            "server_a": server_a,
            "server_b": server_b,
            "mail_dir": mail_dir,
            "standin": standin,
            "redis_key_prefix": redis_key_prefix,
            **processes,
        }
    finally:
        standin.process.wait_idle(timeout=10)  # nothing in flight when the test's tables are emptied
        for process in processes.values():
            process.ask_to_stop()  # all at once: each takes a second or two to wind down
        for process in processes.values():
            process.stop()


def wait_until_serving(url: str, server: Background, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"{url} exited:\n{server.output()}"
        try:
            httpx.get(url + "/accounts/login/", timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
        else:
            return
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{server.output()}")


def form_token(page: httpx.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def sent_emails(mail_dir: Path) -> list[email.message.EmailMessage]:
    """Every message Django's file backend wrote (one file per connection, 79 dashes between)."""
    messages = []
    for path in sorted(mail_dir.iterdir()):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
    return messages


@pytest.fixture
def doctor_with_free_mornings():
    doctor = DoctorFactory(
        user=UserFactory(first_name="Amara", last_name="Okafor", role="doctor"), timezone="Europe/London"
    )
    for weekday in range(7):
        WorkingHoursFactory(doctor=doctor, weekday=weekday, start_time=dt.time(9), end_time=dt.time(12))
    slots_generate(doctor=doctor, days=7)
    return doctor


def test_booked_on_one_server_confirmed_by_the_webhook_on_the_other_with_one_email(
    deployment, doctor_with_free_mornings
):
    server_a, server_b = deployment["server_a"], deployment["server_b"]
    patient = PatientFactory(email="nia@example.com", first_name="Nia")
    slot = doctor_with_free_mornings.slots.filter(starts_at__gt=dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).first()
    with httpx.Client(timeout=15) as browser:  # one cookie jar: both servers are 127.0.0.1
        # On server A: log in, then book the slot; A sends the patient to Stripe's hosted page.
        login = browser.get(f"{server_a}/accounts/login/")
        logged_in = browser.post(
            f"{server_a}/accounts/login/",
            data={"csrfmiddlewaretoken": form_token(login), "username": patient.email, "password": TEST_PASSWORD},
        )
        assert logged_in.status_code == 302, logged_in.text[:2000]
        confirm = browser.get(f"{server_a}/appointments/book/{slot.pk}/")
        assert confirm.status_code == 200
        booked = browser.post(
            f"{server_a}/appointments/book/{slot.pk}/",
            data={"csrfmiddlewaretoken": form_token(confirm), "reason": "Chest tightness when running"},
        )
        assert booked.status_code == 303, booked.text[:2000]
        stripe = deployment["standin"]
        pay_page = booked.headers["Location"]
        assert pay_page.startswith(f"{stripe.url}/pay/cs_")
        appointment = Appointment.objects.get(patient=patient)
        assert appointment.status == AppointmentStatus.PENDING_PAYMENT

        # The patient pays at Stripe; Stripe posts the events to server B (never to A).
        stripe.pay(pay_page.rsplit("/", 1)[1])
        wait_for(lambda: Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CONFIRMED, timeout=20)
        appointment.payment.refresh_from_db()
        assert appointment.payment.status == PaymentStatus.PAID
        assert re.search(r'"POST /stripe/webhook/[^ ]+ HTTP/1.1" 200 ', deployment["B"].output())
        assert "/stripe/webhook/" not in deployment["A"].output()

        # The worker sends the confirmation. Then the payment is told again, to server A: once as
        # Stripe's retry of the same event, once under a new event id. Still one e-mail.
        wait_for(lambda: OutboundEmail.objects.filter(status=EmailStatus.SENT).exists(), timeout=20)
        completed = next(row["id"] for row in stripe.process.events() if row["type"] == "checkout.session.completed")
        event = stripe.get(f"events/{completed}")
        for body in (event, {**event, "id": "evt_" + secrets.token_hex(12)}):
            payload = json.dumps(body).encode()
            signed = {"Content-Type": "application/json", "Stripe-Signature": stripe_signature(payload)}
            told_again = httpx.post(f"{server_a}{webhook_url_path()}", content=payload, headers=signed, timeout=15)
            assert told_again.status_code == 200, told_again.text[:500]
        time.sleep(1.5)  # the worker polls every 0.2 s: a second message would be written by now
        messages = sent_emails(deployment["mail_dir"])
        starts = slot.starts_at.astimezone(ZoneInfo("Europe/London"))
        assert [(m["To"], m["Subject"]) for m in messages] == [
            ("nia@example.com", f"Appointment confirmed: Dr Amara Okafor, {starts:%a %d %b %H:%M} {starts.tzname()}")
        ]
        assert OutboundEmail.objects.get().message_id in messages[0]["Message-ID"]

        # The session made on A is good on B too, and both servers show the visit confirmed; the
        # servers kept their cache (the booking rate limit's counter among it) in the shared Redis.
        for server in (server_a, server_b):
            page = browser.get(f"{server}/appointments/{appointment.pk}/")
            assert page.status_code == 200, (server, page.status_code)
            assert "Confirmed" in page.text
            assert "Dr Amara Okafor" in page.text
        assert redis_or_skip(REDIS_DB).keys(f"{deployment['redis_key_prefix']}*")
