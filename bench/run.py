"""Benchmark figures for the booking and payment paths, on a real server (not a test).

    .venv/bin/python bench/run.py [--requests N] [--threads T]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_x .venv/bin/python bench/run.py

Builds a throwaway database without migrations (SQLite file in a temp dir, or a `bench_<pid>`
PostgreSQL database on the server DATABASE_URL names), seeds doctors, slots and patients with the
ORM, starts the Stripe stand-in (events withheld) and gunicorn (gthread) on 127.0.0.1, then
measures from keep-alive HTTP clients:

  bare view       GET bench/bare/: the same server and middleware, no work (the baseline)
  booking POST    appointments:book, each on its own free slot: 303 to the stand-in's Checkout
  webhook ingest  signed checkout.session.completed events POSTed to dj-stripe's endpoint: 200
  contention      many patients POST the same slot at once, round after round: one 303, the rest 409

Everything it starts (stand-in, gunicorn, database) is removed at the end, also on error or after
the hard timeout. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stripe_standin.testing import StandinProcess  # noqa: E402  (needs ROOT on sys.path; imports no Django)
from stripe_standin.webhooks import sign  # noqa: E402

# Throwaway credentials shared only by this process, its stand-in and its server.
API_KEY = "sk_test_benchStandin" + secrets.token_hex(12)  # dj-stripe wants sk_test_ + 24 or more letters/digits
WEBHOOK_SECRET = "whsec_bench" + secrets.token_hex(16)
CSRF_SECRET = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
HTTP_TIMEOUT = 30.0


class HardTimeout(Exception):
    pass


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Run:
    """What this run started, so that cleanup (normal, on error, on timeout) can remove it."""

    tmpdir: Path
    db_vendor: str = ""
    db_name: str = ""
    db_admin_url: str = ""  # PostgreSQL: the server's maintenance database, to drop ours
    db_created: bool = False
    standin: StandinProcess | None = None
    gunicorn: subprocess.Popen | None = None
    gunicorn_log: Path | None = None
    barriers: list[threading.Barrier] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def abort(self) -> None:
        """Stop every client soon: no new requests, barriers broken, servers gone (open requests fail)."""
        self.stopping.set()
        self.stop_processes()

    def stop_processes(self) -> None:
        for barrier in self.barriers:
            barrier.abort()
        process, self.gunicorn = self.gunicorn, None
        if process is not None and process.poll() is None:
            process.terminate()  # the master stops its workers
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # its own session: master and workers
                process.wait()
        standin, self.standin = self.standin, None
        if standin is not None:
            standin.stop()

    def drop_database(self) -> None:
        if self.db_created:
            from django.db import connections

            connections.close_all()
            if self.db_vendor == "postgresql":
                import psycopg
                from psycopg import sql

                with psycopg.connect(self.db_admin_url, autocommit=True) as admin:
                    admin.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.db_name))
                    )
            self.db_created = False
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def configure_environment(run: Run) -> None:
    """Environment for this process and the server: DEBUG off, the bench settings, its database."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        parts = urllib.parse.urlsplit(url)
        run.db_vendor, run.db_name = "postgresql", f"bench_{os.getpid()}"
        database_url = urllib.parse.urlunsplit(parts._replace(path="/" + run.db_name))
        run.db_admin_url = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    else:
        run.db_vendor, run.db_name = "sqlite", str(run.tmpdir / "bench.sqlite3")
        database_url = f"sqlite:///{run.db_name}"
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="bench-" + secrets.token_urlsafe(32),
        DJANGO_SECURE_SSL_REDIRECT="false",
        STRIPE_SECRET_KEY=API_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=run.standin.url,
        PYTHONUNBUFFERED="1",
    )


def start_gunicorn(run: Run, *, port: int, workers: int, threads: int) -> None:
    run.gunicorn_log = run.tmpdir / "gunicorn.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "hospital.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
        "--workers", str(workers), "--threads", str(threads), "--keep-alive", "15",
        "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning",
    ]  # fmt: skip
    with open(run.gunicorn_log, "wb") as log:
        run.gunicorn = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if run.gunicorn.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {run.gunicorn.returncode}:\n{log_tail(run.gunicorn_log)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/bench/bare/")
            if connection.getresponse().status == 200:
                connection.close()
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s:\n" + log_tail(run.gunicorn_log))


def log_tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- database -----------------------------------------------------------------------------------


def build_database(run: Run) -> None:
    """Tables straight from the models (`migrate --run-syncdb` with migrations off), as pytest's
    --no-migrations does; dj-stripe's migrations would take ~100 s."""
    from django.db import connection

    run.db_created = True  # from here on, cleanup drops it (also if creation fails halfway)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)


@dataclass
class Seed:
    booking_slots: list[int]
    contention_slots: list[int]
    booking_sessions: list[str]  # one patient (session key) per booking
    contention_sessions: list[str]


def seed(*, bookings: int, rounds: int, contenders: int) -> Seed:
    import datetime as dt

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import PatientProfile, Role, User
    from hospital.models import Doctor, Slot, Specialty

    password = make_password(None)  # unusable: patients are signed in by session, never by password
    with transaction.atomic():
        specialty = Specialty.objects.create(name="Bench medicine")
        doctor_users = User.objects.bulk_create(
            User(
                email=f"doctor{i}@bench.test",
                first_name="Doc",
                last_name=f"Bench{i}",
                role=Role.DOCTOR,
                password=password,
            )
            for i in range(10)
        )
        doctors = Doctor.objects.bulk_create(
            Doctor(user=user, specialty=specialty, fee_amount=5000, fee_currency="usd", timezone="Europe/London")
            for user in doctor_users
        )
        # Every slot in the future (tomorrow onwards), 30 minutes each, spread over the doctors.
        first = timezone.now().replace(hour=8, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
        slots = Slot.objects.bulk_create(
            Slot(
                doctor=doctors[n % len(doctors)],
                starts_at=first + dt.timedelta(minutes=30 * (n // len(doctors))),
                ends_at=first + dt.timedelta(minutes=30 * (n // len(doctors) + 1)),
            )
            for n in range(bookings + rounds)
        )
        patients = User.objects.bulk_create(
            User(
                email=f"patient{i}@bench.test",
                first_name="Pat",
                last_name=f"Bench{i}",
                role=Role.PATIENT,
                password=password,
            )
            for i in range(bookings + contenders)
        )
        PatientProfile.objects.bulk_create(
            PatientProfile(user=user, date_of_birth=dt.date(1990, 5, 17)) for user in patients
        )
        session_keys = []
        for user in patients:  # what `login()` stores, without the log-in form
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            session_keys.append(session.session_key)
    slot_ids = [slot.pk for slot in slots]
    return Seed(
        booking_slots=slot_ids[:bookings],
        contention_slots=slot_ids[bookings:],
        booking_sessions=session_keys[:bookings],
        contention_sessions=session_keys[bookings:],
    )


# --- HTTP load ----------------------------------------------------------------------------------


@dataclass
class Result:
    status: int | None  # None: no answer (connection error)
    seconds: float
    location: str = ""
    detail: str = ""


class Client:
    """One keep-alive connection (http.client reopens it if the server closed it)."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)

    def send(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None) -> Result:
        start = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers or {})
            response = self.connection.getresponse()
            content = response.read()
            if response.will_close:
                self.connection.close()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            return Result(None, time.perf_counter() - start, detail=f"{type(error).__name__}: {error}")
        detail = "" if response.status in (200, 303) else content[:300].decode(errors="replace")
        return Result(response.status, time.perf_counter() - start, response.getheader("Location", ""), detail)

    def close(self) -> None:
        self.connection.close()


def run_load(run: Run, *, port: int, items: Sequence, threads: int, send: Callable[[Client, object], Result]):
    """Send every item from `threads` keep-alive clients; returns (results in item order, wall seconds)."""
    results: list[Result | None] = [None] * len(items)
    queue = iter(enumerate(items))
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)
    run.barriers.append(ready)

    def worker():
        client = Client(port)
        try:
            ready.wait()
            while True:
                with lock:
                    index, item = next(queue, (None, None))
                if index is None or run.stopping.is_set():
                    return
                results[index] = send(client, item)
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        try:
            futures = [pool.submit(worker) for _ in range(threads)]
            ready.wait()
            start = time.perf_counter()
            for future in futures:
                future.result()
            elapsed = time.perf_counter() - start
        except BaseException:
            run.abort()
            raise
    run.barriers.remove(ready)
    return [r or Result(None, 0.0, detail="not sent") for r in results], elapsed


def booking_headers(session_key: str) -> dict:
    # CSRF without a GET: a csrftoken cookie and the same secret in X-CSRFToken is what Django checks.
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"sessionid={session_key}; csrftoken={CSRF_SECRET}",
        "X-CSRFToken": CSRF_SECRET,
    }


def book(client: Client, item) -> Result:
    slot_id, session_key = item
    return client.send(
        "POST", f"/appointments/book/{slot_id}/", body=b"reason=benchmark", headers=booking_headers(session_key)
    )


def standin_round_trip(url: str, count: int = 20) -> list[float]:
    """Seconds per sequential `GET /v1/account` on one keep-alive connection: what each Stripe call
    made by the app (a first booking: 2, a webhook: 4) costs at least."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT)
    times = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            connection.request("GET", "/v1/account", headers={"Authorization": f"Bearer {API_KEY}"})
            connection.getresponse().read()
            times.append(time.perf_counter() - start)
    finally:
        connection.close()
    return times


def server_errors(path: Path | None) -> tuple[int, Counter]:
    """How many requests Django logged as 500s, and their exceptions' last lines."""
    if path is None or not path.exists():
        return 0, Counter()
    lines = path.read_text(errors="replace").splitlines()
    count = sum(line.startswith("Internal Server Error") for line in lines)
    return count, Counter(line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception)\b.*:", line))


# --- measures -----------------------------------------------------------------------------------


@dataclass
class Measure:
    name: str
    results: list[Result]
    seconds: float
    expected: int

    @property
    def count(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> int:
        return sum(r.status == self.expected for r in self.results)

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def latency_ms(self, quantile: float) -> float:
        values = sorted(r.seconds for r in self.results)
        return 1000 * values[min(len(values) - 1, math.ceil(quantile * len(values)) - 1)] if values else 0.0

    def statuses(self) -> Counter:
        return Counter(r.status for r in self.results)

    def errors(self, limit: int = 3) -> list[str]:
        bad = Counter(f"{r.status}: {r.detail[:100]!r}" for r in self.results if r.status != self.expected)
        return [f"{n} x {text}" for text, n in bad.most_common(limit)]


def measure_bare(run: Run, *, port: int, count: int, threads: int) -> Measure:
    results, seconds = run_load(
        run, port=port, items=range(count), threads=threads, send=lambda c, _: c.send("GET", "/bench/bare/")
    )
    return Measure("bare view GET", results, seconds, 200)


def measure_booking(run: Run, *, port: int, seed_: Seed, threads: int, standin_url: str) -> Measure:
    items = list(zip(seed_.booking_slots, seed_.booking_sessions, strict=True))
    results, seconds = run_load(run, port=port, items=items, threads=threads, send=book)
    for result in results:  # a 303 elsewhere than Checkout (e.g. to the appointment page: Stripe failed) is an error
        if result.status == 303 and not result.location.startswith(standin_url + "/"):
            result.status, result.detail = -303, f"303 to {result.location}"
    return Measure("booking POST", results, seconds, 303)


def measure_webhooks(run: Run, *, port: int, count: int, threads: int) -> tuple[Measure, dict]:
    from appointments.models import Appointment, AppointmentStatus
    from payments.models import CheckoutAttempt, Payment, PaymentStatus
    from payments.webhooks import webhook_url_path

    standin = run.standin
    attempts = list(
        CheckoutAttempt.objects.filter(session_id__isnull=False)
        .order_by("pk")
        .values_list("session_id", "payment__appointment_id")[:count]
    )
    prep_start = time.perf_counter()
    for session_id, _ in attempts:  # what the patient does on the hosted page; its events are withheld
        standin.pay(session_id)
    sessions = {session_id for session_id, _ in attempts}
    event_ids = [
        row["id"]
        for row in standin.events()
        if row["type"] == "checkout.session.completed" and row["object_id"] in sessions
    ]
    bodies = [json.dumps(standin.request("GET", f"/v1/events/{event_id}")).encode() for event_id in event_ids]
    prep_seconds = time.perf_counter() - prep_start
    path = webhook_url_path()

    busy_answers = Counter()

    def deliver(client: Client, body: bytes) -> Result:
        headers = {"Content-Type": "application/json", "Stripe-Signature": sign(body, WEBHOOK_SECRET, int(time.time()))}
        result = client.send("POST", path, body=body, headers=headers)
        if result.status == 503:  # "busy, try again" (SQLite's write lock): Stripe delivers it again
            busy_answers["retried"] += 1
            time.sleep(0.5)
            result = client.send("POST", path, body=body, headers=headers)
        return result

    results, seconds = run_load(run, port=port, items=bodies, threads=threads, send=deliver)
    appointment_ids = [appointment_id for _, appointment_id in attempts]
    check = {
        "sessions_paid": len(attempts),
        "events": len(bodies),
        "prep_seconds": prep_seconds,
        "retried_after_busy": busy_answers["retried"],
        "confirmed": Appointment.objects.filter(pk__in=appointment_ids, status=AppointmentStatus.CONFIRMED).count(),
        "paid": Payment.objects.filter(appointment_id__in=appointment_ids, status=PaymentStatus.PAID).count(),
    }
    return Measure("webhook ingest", results, seconds, 200), check


@dataclass
class Contention:
    rounds: int
    contenders: int
    round_seconds: list[float] = field(default_factory=list)
    round_statuses: list[Counter] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    db_one_holder: bool = False

    @property
    def bad_rounds(self) -> list[int]:
        return [i for i, s in enumerate(self.round_statuses) if s.get(303) != 1 or s.get(409) != self.contenders - 1]


def measure_contention(run: Run, *, port: int, seed_: Seed, standin_url: str) -> Contention:
    """All contenders POST the same slot at once (released by a barrier), once per round. Between
    rounds the winner's hold is marked CONFIRMED, so no patient reaches the unpaid-holds limit."""
    from django.db.models import Count

    from appointments.models import ACTIVE_STATUSES, Appointment, AppointmentStatus

    contenders, slots = len(seed_.contention_sessions), seed_.contention_slots
    outcome = Contention(rounds=len(slots), contenders=contenders)
    go = threading.Barrier(contenders + 1, timeout=HTTP_TIMEOUT * 2)
    done = threading.Barrier(contenders + 1, timeout=HTTP_TIMEOUT * 2)
    run.barriers.extend([go, done])
    results: list[list[tuple[float, Result]]] = [[None] * contenders for _ in slots]

    def contender(index: int):
        client = Client(port)
        try:
            for round_index, slot_id in enumerate(slots):
                go.wait()
                start = time.perf_counter()
                result = book(client, (slot_id, seed_.contention_sessions[index]))
                results[round_index][index] = (start, result)
                done.wait()
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=contenders) as pool:
        try:
            futures = [pool.submit(contender, i) for i in range(contenders)]
            for round_index, slot_id in enumerate(slots):
                go.wait()
                done.wait()
                row = results[round_index]
                outcome.round_seconds.append(max(s + r.seconds for s, r in row) - min(s for s, _ in row))
                statuses = Counter(r.status for _, r in row)
                for _, r in row:
                    if r.status == 303 and not r.location.startswith(standin_url + "/"):
                        statuses[303] -= 1
                        statuses[f"303 to {r.location}"] += 1
                    elif r.status not in (303, 409) and len(outcome.errors) < 3:
                        outcome.errors.append(f"round {round_index}: {r.status}: {r.detail[:200]!r}")
                outcome.round_statuses.append(statuses)
                Appointment.objects.filter(slot_id=slot_id, status=AppointmentStatus.PENDING_PAYMENT).update(
                    status=AppointmentStatus.CONFIRMED
                )
            for future in futures:
                future.result()
        except BaseException:
            run.abort()
            raise
    for barrier in (go, done):
        run.barriers.remove(barrier)
    holders = (
        Appointment.objects.filter(slot_id__in=slots, status__in=ACTIVE_STATUSES)
        .values("slot_id")
        .annotate(n=Count("id"))
    )
    outcome.db_one_holder = len(holders) == len(slots) and all(h["n"] == 1 for h in holders)
    return outcome


# --- report -------------------------------------------------------------------------------------


def report(
    *, run: Run, args, measures: list[Measure], webhook_check: dict, contention: Contention | None, standin_rtt: list
) -> bool:
    bare = measures[0]
    db = run.db_name if run.db_vendor == "postgresql" else "temp file"
    print()
    print(
        f"database: {run.db_vendor} ({db})   server: gunicorn gthread {args.workers} workers x {args.server_threads}"
        f" threads   client: {args.threads} keep-alive threads   cpus: {os.cpu_count()}"
    )
    header = (
        f"{'measure':<16}{'count':>6}{'ok':>6}{'seconds':>9}{'rps':>9}{'x bare':>9}"
        f"{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}  statuses"
    )
    print(header)
    print("-" * len(header))
    all_good = True
    for m in measures:
        ratio = m.rps / bare.rps if bare.rps else 0.0
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(m.statuses().items(), key=lambda kv: str(kv[0])))
        print(
            f"{m.name:<16}{m.count:>6}{m.ok:>6}{m.seconds:>9.2f}{m.rps:>9.1f}{ratio:>8.3f}x"
            f"{m.latency_ms(0.5):>8.0f}{m.latency_ms(0.95):>8.0f}{m.latency_ms(1.0):>8.0f}  {statuses}"
        )
        all_good &= m.ok == m.count
    for m in measures:
        for error in m.errors():
            print(f"  ! {m.name}: {error}")
    if webhook_check:
        confirmed_ok = webhook_check["confirmed"] == webhook_check["events"] == webhook_check["paid"]
        all_good &= confirmed_ok
        print(
            f"webhooks: {webhook_check['sessions_paid']} sessions paid at the stand-in, {webhook_check['events']} "
            f"checkout.session.completed events ({webhook_check['prep_seconds']:.1f} s to pay and fetch, not timed); "
            f"in the DB afterwards: {webhook_check['confirmed']} appointments CONFIRMED, {webhook_check['paid']} "
            f"payments PAID [{'ok' if confirmed_ok else 'MISMATCH'}]; answered 503 busy and delivered again, as "
            f"Stripe would: {webhook_check['retried_after_busy']}"
        )
    if contention:
        seconds = contention.round_seconds
        bad = contention.bad_rounds
        total = sum(contention.round_statuses, Counter())
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(total.items(), key=lambda kv: str(kv[0])))
        one_winner = not bad and contention.db_one_holder
        all_good &= one_winner
        print(
            f"contention: {contention.rounds} rounds x {contention.contenders} patients on one slot: per round "
            f"median {median(seconds):.2f} s, max {max(seconds, default=0):.2f} s "
            f"({contention.contenders / median(seconds) if median(seconds) else 0:.0f} POST/s at the median); "
            f"exactly one 303 + {contention.contenders - 1} x 409 every round: "
            f"{'yes' if not bad else f'NO (rounds {bad})'}; one active appointment per slot in the DB: "
            f"{'yes' if contention.db_one_holder else 'NO'}; statuses {statuses}"
        )
        for error in contention.errors:
            print(f"  ! contention: {error}")
    print(
        f"stand-in: one API round trip (GET /v1/account, keep-alive, sequential) "
        f"median {1000 * median(standin_rtt):.1f} ms, min {1000 * min(standin_rtt, default=0):.1f} ms; "
        "a patient's first booking makes 2 such calls (a later one 1), a webhook 4"
    )
    errors, kinds = server_errors(run.gunicorn_log)
    if errors:
        top = "; ".join(f"{n} x {line[:120]}" for line, n in kinds.most_common(3))
        print(f"server log: {errors} requests answered 500: {top}")
    print("result:", "all as expected" if all_good else "SOME REQUESTS DID NOT GET THE EXPECTED ANSWER (see above)")
    return all_good


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=150, help="booking POSTs, and as many webhook events (150)")
    parser.add_argument("--bare", type=int, default=2000, help="bare-view GETs (2000: about a second)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent keep-alive clients (8)")
    parser.add_argument("--contenders", type=int, default=50, help="patients racing for one slot per round (50)")
    parser.add_argument("--rounds", type=int, default=20, help="contention rounds (20; 0 skips)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--server-threads", type=int, default=4, help="gunicorn threads per worker (4)")
    parser.add_argument("--timeout", type=float, default=600, help="hard limit for the whole run, seconds (600)")
    parser.add_argument("--server-log", type=Path, default=None, help="keep gunicorn's log (Django's errors) here")
    args = parser.parse_args(argv)
    if min(args.requests, args.bare, args.threads, args.contenders) < 1 or args.rounds < 0:
        parser.error("counts must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    run = Run(tmpdir=Path(tempfile.mkdtemp(prefix="bench-")))

    def on_timeout(signum, frame):
        run.abort()  # unblocks every client at once
        raise HardTimeout(f"gave up after --timeout {args.timeout:.0f} s")

    def on_interrupt(signum, frame):
        run.abort()
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGALRM, on_timeout)
    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_interrupt)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    started = time.perf_counter()
    ok = False
    try:
        port = free_port()
        run.standin = StandinProcess(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET).start()
        configure_environment(run)

        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        from payments.webhooks import webhook_url_path

        server_url = f"http://127.0.0.1:{port}"
        step = time.perf_counter()
        build_database(run)
        call_command("stripe_webhook_setup", base_url=server_url, stdout=open(os.devnull, "w"))  # noqa: SIM115
        seed_ = seed(bookings=args.requests, rounds=args.rounds, contenders=args.contenders)
        connections.close_all()
        print(f"database built and seeded in {time.perf_counter() - step:.1f} s ({run.db_vendor})", flush=True)
        # Events are kept for us to deliver (and time); the URL is only what they would go to.
        run.standin.configure(withhold=True, webhook_url=server_url + webhook_url_path())

        start_gunicorn(run, port=port, workers=args.workers, threads=args.server_threads)
        run_load(run, port=port, items=range(4 * args.threads), threads=args.threads,  # warm-up, not measured
                 send=lambda c, _: c.send("GET", "/bench/bare/"))  # fmt: skip
        print(f"server up on {server_url}, stand-in on {run.standin.url}; measuring …", flush=True)
        standin_rtt = standin_round_trip(run.standin.url)

        measures = [measure_bare(run, port=port, count=args.bare, threads=args.threads)]
        measures.append(measure_booking(run, port=port, seed_=seed_, threads=args.threads, standin_url=run.standin.url))
        webhooks, webhook_check = measure_webhooks(run, port=port, count=args.requests, threads=args.threads)
        measures.append(webhooks)
        contention = None
        if args.rounds:
            contention = measure_contention(run, port=port, seed_=seed_, standin_url=run.standin.url)
        connections.close_all()
        ok = report(
            run=run, args=args, measures=measures, webhook_check=webhook_check, contention=contention,
            standin_rtt=standin_rtt,
        )  # fmt: skip
    except BaseException as error:
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(f"\nbench failed: {type(error).__name__}: {error}", file=sys.stderr)
        if run.gunicorn_log:
            print("gunicorn log (tail):\n" + log_tail(run.gunicorn_log), file=sys.stderr)
        if run.standin:
            print("stand-in output (tail):\n" + "\n".join(run.standin.output().splitlines()[-20:]), file=sys.stderr)
        if not isinstance(error, Exception | KeyboardInterrupt):
            raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        run.stop_processes()
        if args.server_log and run.gunicorn_log and run.gunicorn_log.exists():
            shutil.copyfile(run.gunicorn_log, args.server_log)
        try:
            run.drop_database()
        except Exception as error:
            print(f"could not drop the bench database {run.db_name}: {error}", file=sys.stderr)
        print(f"total {time.perf_counter() - started:.0f} s (processes stopped, database removed)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
