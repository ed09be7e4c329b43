"""Benchmark figures for the pages and the booking and payment paths, on a real server (not a test).

    .venv/bin/python bench/run.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/any .venv/bin/python bench/run.py

Builds a throwaway database without migrations (SQLite file in a temp dir, or a `bench_<pid>`
PostgreSQL database on the server DATABASE_URL names), seeds doctors with four weeks of slots and
the patients to measure with bulk_create, starts the Stripe stand-in (events withheld) and gunicorn
on 127.0.0.1, then measures:

  pages       every public and signed-in page with wrk, at 10 and 1,000 doctors, uncached and
              cached (PUBLIC_PAGE_CACHE), beside the bare view; the query count of each page
  POSTs       booking (patient with / without a Stripe Customer) beside bare Checkout views making
              the same Stripe calls; webhook ingest beside bare dj-stripe (our receivers off)
  contention  many patients POST the same slot at once, round after round: one 303, the rest 409

Everything it starts (stand-in, servers, database) is removed at the end, also on error or after
the hard timeout. See bench/README.md for how to read the table.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import math
import os
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

from bench import seeding  # noqa: E402  (needs ROOT on sys.path; imports no Django at import time)
from bench.wrk import WrkResult, ensure_wrk, run_wrk, run_wrk_together, wrk_version  # noqa: E402
from stripe_standin.testing import StandinProcess  # noqa: E402
from stripe_standin.webhooks import sign  # noqa: E402

# Throwaway credentials shared only by this process, its stand-in and its servers.
API_KEY = "sk_test_benchStandin" + secrets.token_hex(12)  # dj-stripe wants sk_test_ + 24 or more letters/digits
WEBHOOK_SECRET = "whsec_bench" + secrets.token_hex(16)
CSRF_SECRET = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
HTTP_TIMEOUT = 30.0
MY_APPOINTMENTS = 20  # the signed-in patient's visits on "My appointments"
PORTAL_VISITS = 20  # the signed-in doctor's visits today (and as many later, for the upcoming list)


POSTGRES_SCHEMES = ("postgres://", "postgresql://", "pgsql://")


class HardTimeout(Exception):
    pass


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Run:
    """What this run started, so that cleanup (normal, on error, on timeout) can remove it."""

    tmpdir: Path
    db_vendor: str = ""
    db_name: str = ""
    db_admin_url: str = ""  # PostgreSQL: the server's maintenance database, to drop ours
    db_created: bool = False
    redis_url: str = ""  # --servers 2: the Redis the servers share, its keys under cache_prefix
    cache_prefix: str = field(default_factory=lambda: f"bench{os.getpid()}")
    standin: StandinProcess | None = None
    servers: list[Server] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)  # every server's log, also of stopped ones
    barriers: list[threading.Barrier] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def abort(self) -> None:
        """Stop every client soon: no new requests, barriers broken, servers gone (open requests fail)."""
        self.stopping.set()
        self.stop_processes()

    def stop_server(self, server: Server) -> None:
        if server in self.servers:
            self.servers.remove(server)
        process = server.process
        if process.poll() is None:
            process.terminate()  # the master stops its workers
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # its own session: master and workers
                process.wait()

    def stop_processes(self) -> None:
        for barrier in self.barriers:
            barrier.abort()
        for server in list(self.servers):
            self.stop_server(server)
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

    def cache_keys_count(self) -> int:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            return sum(1 for _ in client.scan_iter(match=f"{self.cache_prefix}:*", count=1000))
        finally:
            client.close()

    def forget_cache(self) -> None:
        """Only this run's keys (Django's `<prefix>:<version>:<key>`): the Redis database is shared."""
        if self.redis_url:
            import redis

            client = redis.Redis.from_url(self.redis_url)
            try:
                for key in client.scan_iter(match=f"{self.cache_prefix}:*", count=1000):
                    client.delete(key)
            finally:
                client.close()


def configure_environment(run: Run) -> None:
    """Environment for this process and the servers: DEBUG off, the bench settings, its database.
    This process counts queries with the page cache off; each server gets its own setting."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(POSTGRES_SCHEMES):
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
        PUBLIC_PAGE_CACHE="false",
        BENCH_PROJECT_RECEIVERS="true",
        LOG_FORMAT="json",  # what server_errors reads, whatever the caller's environment says
        PYTHONUNBUFFERED="1",
    )


@dataclass(frozen=True)
class ServerConfig:
    worker_class: str
    workers: int
    threads: int

    def describe(self) -> str:
        threads = f"{self.threads} threads each" if self.worker_class == "gthread" else "1 thread each"
        return f"gunicorn {self.worker_class}, {self.workers} workers ({threads})"


def start_server(run: Run, config: ServerConfig, *, wrk: str, name: str, **env: str) -> Server:
    """gunicorn on a free port with `env` on top of ours; returns once the bare view answers."""
    port = free_port()
    log_path = run.tmpdir / f"gunicorn-{len(run.logs)}-{name}.log"
    run.logs.append(log_path)
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "hospital.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--worker-class", config.worker_class, "--workers", str(config.workers),
        "--keep-alive", "15", "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning",
    ]  # fmt: skip
    if config.worker_class == "gthread":  # threads > 1 would turn a sync worker into gthread
        command += ["--threads", str(config.threads)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
            command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name=name, port=port, process=process, log=log_path)
    run.servers.append(server)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_tail(log_path)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/bench/bare/")
            if connection.getresponse().status == 200:
                connection.close()
                break
        time.sleep(0.2)
    else:
        raise RuntimeError("gunicorn did not answer within 30 s:\n" + log_tail(log_path))
    # One worker answered; the others may still be importing Django: a second of wrk wakes them all.
    run_wrk(wrk, server.url + "/bench/bare/", connections=16, threads=1, seconds=1)
    return server


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


def database_version(run: Run) -> str:
    from django.db import connection

    if run.db_vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0].split()[0]} ({run.db_name})"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version} (temp file, WAL)"


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


def run_load(run: Run, *, ports: list[int], items: Sequence, threads: int, send: Callable[[Client, object], Result]):
    """Send every item from `threads` keep-alive clients, dealt round the `ports` (one per server)
    thread by thread; returns (results in item order, wall seconds)."""
    results: list[Result | None] = [None] * len(items)
    queue = iter(enumerate(items))
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)
    run.barriers.append(ready)

    def worker(port: int):
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
            futures = [pool.submit(worker, ports[i % len(ports)]) for i in range(threads)]
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


def server_errors(paths: list[Path]) -> tuple[int, Counter]:
    """How many requests Django logged as 500s, and their exceptions' last lines. The servers log
    one JSON object per line (LOG_FORMAT=json, set above); gunicorn's own lines are not JSON."""
    count, kinds = 0, Counter()
    for path in paths:
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and str(record.get("message")).startswith("Internal Server Error"):
                    count += 1
                    kinds[(record.get("exception") or "(no traceback)").strip().splitlines()[-1]] += 1
    return count, kinds


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


# --- pages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    session: str | None  # the signed-in patient's or doctor's session key, or anonymous
    expect: str  # text the page must show
    public: bool

    def headers(self) -> dict[str, str]:
        return {"Cookie": f"sessionid={self.session}"} if self.session else {}


BARE = Page("bare view GET", "/bench/bare/", None, "ok", public=True)
# What a real page can reach on this stack (no bar): 20 rows from 2 queries through base.html.
FLOOR = Page("floor: 20 rows, 2 queries", "/bench/floor/", None, "Row 20", public=False)


def pages_to_measure(people: seeding.People, portal: seeding.PortalDoctor, *, billing_session: str) -> list[Page]:
    from hospital.models import Slot

    doctor = seeding.page_doctor()
    surname = seeding.SURNAMES[3]
    confirm_slot = Slot.objects.filter(doctor=doctor).order_by("-starts_at").values_list("pk", flat=True).first()
    signed_in = people.page_session
    return [
        FLOOR,
        # The same page for a signed-in patient: the session and the user are two more queries.
        Page("floor, signed in", FLOOR.path, signed_in, FLOOR.expect, public=False),
        Page("home", "/", None, "", public=True),
        Page("directory", "/doctors/", None, "Dr ", public=True),
        Page("directory ?specialty", f"/doctors/?specialty={doctor.specialty.slug}", None, "Dr ", True),
        Page("directory ?q=surname", f"/doctors/?q={surname}", None, surname, public=True),
        Page("doctor page", f"/doctors/{doctor.pk}/", None, doctor.user.last_name, public=True),
        Page("My appointments", "/appointments/", signed_in, "Dr ", public=False),
        Page("booking confirm GET", f"/appointments/book/{confirm_slot}/", signed_in, doctor.user.last_name, False),
        # One of the page patient's paid visits, part refunded: its page (with the receipt, the
        # credit note, the cancel and move links), its cancel page (the exact amount back by the
        # policy), its reschedule page (the doctor's free slots), its receipt; and the same visit's
        # page as billing staff read it, with the money panel and its refund form.
        Page("appointment page", f"/appointments/{people.money_visit_id}/", signed_in, "Credit note", False),
        Page("cancel page", f"/appointments/{people.money_visit_id}/cancel/", signed_in, "comes back", False),
        Page(
            "reschedule page",
            f"/appointments/{people.money_visit_id}/reschedule/",
            signed_in,
            "Move my appointment",
            False,
        ),
        Page("receipt", f"/payments/receipts/{people.receipt_id}/", signed_in, "Consultation", public=False),
        Page(
            "appointment page (billing)",
            f"/appointments/{people.money_visit_id}/",
            billing_session,
            "Refund part or all",
            False,
        ),
        # The doctor's portal, signed in as doctor 1: today's visits, this week's, the upcoming list.
        Page("doctor's day", "/portal/", portal.session, "Follow-up on last month", public=False),
        Page("doctor's week", "/portal/week/", portal.session, f"{PORTAL_VISITS} visits", public=False),
        Page("doctor's list", "/portal/appointments/", portal.session, "upcoming appointments", public=False),
        # A completed visit with its signed note, two addenda and a prescription, as its doctor reads
        # it; then that prescription and the list, as its patient reads them.
        Page("doctor's visit page", f"/appointments/{portal.visit_id}/", portal.session, "Addendum 2", public=False),
        Page(
            "prescription (patient)",
            f"/prescriptions/{portal.prescription_id}/",
            portal.patient_session,
            "Amoxicillin",
            public=False,
        ),
        Page("My prescriptions", "/prescriptions/", portal.patient_session, "RX-", public=False),
        # The admin's money dashboard as billing staff: the last 12 months of every paid visit above,
        # summed in the database by month, doctor and currency, with its charts and the doctor filter.
        Page("money dashboard", "/admin/payments/dashboard/", billing_session, "Revenue per month", public=False),
        # The REST API's lists (JSON, never cached), called with the same sessions as the pages.
        Page("API: doctors", "/api/v1/doctors/", None, '"results"', public=False),
        Page("API: a doctor's free slots", f"/api/v1/doctors/{doctor.pk}/slots/", None, '"starts_at"', public=False),
        Page("API: my appointments", "/api/v1/appointments/", signed_in, '"starts_at"', public=False),
        Page("API: my payments", "/api/v1/payments/", signed_in, '"captured"', public=False),
        Page("API: doctor's agenda", "/api/v1/agenda/", portal.session, '"patient"', public=False),
        Page("API docs page", "/api/v1/docs/", None, "swagger-ui", public=False),
    ]


def count_queries(pages: list[Page], *, users: dict[str, int]) -> dict[str, int]:
    """Queries per page, in this process (page cache off) with Django's test client on the same
    database: the second request of each, once one-off work (content types, the session) is done.
    `users`: the user id signed in by each page's session (its keys are the sessions)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    # Each page's own seeded session, as wrk sends it (staff and doctors' carry their second factor).
    clients = {None: DjangoClient(HTTP_HOST="127.0.0.1")}
    for session in users:
        clients[session] = DjangoClient(HTTP_HOST="127.0.0.1")
        clients[session].cookies[settings.SESSION_COOKIE_NAME] = session
    counts = {}
    for page in pages:
        client = clients[page.session]
        client.get(page.path)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.path)
        if response.status_code != 200:
            raise RuntimeError(f"{page.name}: the test client got {response.status_code} for {page.path}")
        counts[page.name] = len(queries)
    return counts


def page_check(server: Server, page: Page, *, times: int) -> str:
    """Warm-up, sequential: every answer must be 200 with the page's text. Returns what went wrong."""
    client = Client(server.port)
    try:
        for _ in range(times):
            client.connection.request("GET", page.path, headers=page.headers())
            response = client.connection.getresponse()
            body = response.read().decode(errors="replace")
            if response.will_close:
                client.connection.close()
            if response.status != 200:
                return f"{page.path} answered {response.status} {response.getheader('Location', '')}"
            if page.expect not in body:
                return f"{page.path} does not show {page.expect!r}"
    except (OSError, http.client.HTTPException) as error:
        return f"{page.path}: {type(error).__name__}: {error}"
    finally:
        client.close()
    return ""


@dataclass
class Row:
    """One line of the table: a page or a POST at one size, from its median round."""

    name: str
    size: int | str
    tool: str
    rps: float
    p50_ms: float
    p99_ms: float
    failures: int = 0
    queries: int | None = None
    grows: bool = False
    x_bare: float | None = None
    x_own: float | None = None  # to its own bare counterpart (POST rows)
    x_floor: float | None = None  # to the floor row signed in as it is (page rows)
    bar: float | None = None
    bar_of: str = ""  # "bare" or "own"
    section: str = ""  # "uncached", "cached" or "POST"
    notes: list[str] = field(default_factory=list)

    @property
    def ratio_for_bar(self) -> float | None:
        return self.x_own if self.bar_of == "own" else self.x_bare

    @property
    def below_bar(self) -> bool:
        return self.bar is not None and (self.ratio_for_bar or 0) < self.bar


def median_round(results: list[WrkResult]) -> WrkResult:
    """The round with the median rps (of 3: the middle one), its latencies with it."""
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


def page_bar(page: Page, *, cached: bool) -> float | None:
    if page.path in (BARE.path, FLOOR.path):
        return None
    if cached and page.public:
        return 0.5  # the stretch goal for public pages served from the cache
    return 0.3 if page.name == "home" else 0.16


def measure_pages(run: Run, args, *, size: int, pages: list[Page], queries: dict, cached: bool) -> list[Row]:
    """One server with PUBLIC_PAGE_CACHE on or off; every round warms up and checks each page, then
    gives each (the bare view first) `--duration` seconds of wrk."""
    server = start_server(run, args.server, wrk=args.wrk, name=f"pages-{size}-{'cached' if cached else 'uncached'}",
                          PUBLIC_PAGE_CACHE="true" if cached else "false")  # fmt: skip
    results: dict[str, list[WrkResult]] = {page.name: [] for page in (BARE, *pages)}
    problems: dict[str, list[str]] = {page.name: [] for page in (BARE, *pages)}
    try:
        for _ in range(args.rounds):
            for page in (BARE, *pages):
                problem = page_check(server, page, times=2 * args.server.workers)
                if problem:
                    problems[page.name].append(problem)
                results[page.name].append(
                    run_wrk(args.wrk, server.url + page.path, connections=args.connections, threads=args.wrk_threads,
                            seconds=args.duration, headers=page.headers())
                )  # fmt: skip
    finally:
        run.stop_server(server)
    bare = median_round(results[BARE.name])
    # A page's floor is the floor page fetched as the page is: anonymously or signed in.
    floor_rps = {
        page.session is not None: median_round(results[page.name]).rps for page in pages if page.path == FLOOR.path
    }
    rows = []
    for page in (BARE, *pages):
        best = median_round(results[page.name])
        floor = floor_rps.get(page.session is not None) if page.path not in (BARE.path, FLOOR.path) else None
        failures = sum(r.failures for r in results[page.name]) + len(problems[page.name])
        notes = (
            problems[page.name][:2]
            + [
                f"wrk: {r.bad_status} non-2xx/3xx, socket errors {r.socket_errors}"
                for r in results[page.name]
                if r.failures
            ][:2]
        )
        count = queries.get(page.name)
        rows.append(
            Row(
                name=page.name, size=size, tool="wrk", rps=best.rps, p50_ms=best.p50_ms, p99_ms=best.p99_ms,
                failures=failures, queries=count, x_bare=best.rps / bare.rps if bare.rps else 0.0,
                x_floor=best.rps / floor if floor else None, bar=page_bar(page, cached=cached), bar_of="bare",
                notes=notes, section="cached" if cached else "uncached",
            )
        )  # fmt: skip
    return rows


def post_headers(session_key: str | None = None) -> dict:
    # CSRF without a GET: a csrftoken cookie and the same secret in X-CSRFToken is what Django checks.
    cookie = f"csrftoken={CSRF_SECRET}" + (f"; sessionid={session_key}" if session_key else "")
    return {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "X-CSRFToken": CSRF_SECRET}


def book(client: Client, item) -> Result:
    slot_id, session_key = item
    return client.send(
        "POST", f"/appointments/book/{slot_id}/", body=b"reason=benchmark", headers=post_headers(session_key)
    )


def bare_checkout_one(client: Client, customer: str) -> Result:
    body = urllib.parse.urlencode({"customer": customer}).encode()
    return client.send("POST", "/bench/bare/checkout/1/", body=body, headers=post_headers())


def bare_checkout_two(client: Client, _) -> Result:
    return client.send("POST", "/bench/bare/checkout/2/", body=b"", headers=post_headers())


def to_checkout(results: list[Result], standin_url: str) -> None:
    """A 303 elsewhere than the stand-in's Checkout (e.g. the appointment page: Stripe failed) is an error."""
    for result in results:
        if result.status == 303 and not result.location.startswith(standin_url + "/"):
            result.status, result.detail = -303, f"303 to {result.location}"


def python_load(
    run: Run, target: Server | list[Server], *, name: str, items, send, expected: int, threads: int
) -> Measure:
    servers = target if isinstance(target, list) else [target]
    results, seconds = run_load(run, ports=[s.port for s in servers], items=items, threads=threads, send=send)
    if expected == 303:
        to_checkout(results, run.standin.url)
    return Measure(name, results, seconds, expected)


def webhook_sender(path: str, retried: Counter):
    def deliver(client: Client, body: bytes) -> Result:
        headers = {"Content-Type": "application/json", "Stripe-Signature": sign(body, WEBHOOK_SECRET, int(time.time()))}
        result = client.send("POST", path, body=body, headers=headers)
        if result.status == 503:  # "busy, try again" (SQLite's write lock): Stripe delivers it again
            retried["retried"] += 1
            time.sleep(0.5)
            result = client.send("POST", path, body=body, headers=headers)
        return result

    return deliver


def paid_session_events(run: Run, patient_ids: list[int]) -> tuple[list[int], list[str], list[bytes]]:
    """Each booking's session paid at the stand-in (what the patient does there; not timed) and its
    checkout.session.completed event as Stripe would send it: (appointment ids, event ids, bodies)."""
    from payments.models import CheckoutAttempt

    attempts = list(
        CheckoutAttempt.objects.filter(session_id__isnull=False, payment__appointment__patient_id__in=patient_ids)
        .order_by("pk")
        .values_list("session_id", "payment__appointment_id")
    )
    for session_id, _ in attempts:
        run.standin.pay(session_id)
    by_session = {
        row["object_id"]: row["id"] for row in run.standin.events() if row["type"] == "checkout.session.completed"
    }
    event_ids = [by_session[session_id] for session_id, _ in attempts if session_id in by_session]
    bodies = [json.dumps(run.standin.request("GET", f"/v1/events/{event_id}")).encode() for event_id in event_ids]
    return [appointment_id for _, appointment_id in attempts], event_ids, bodies


def ours_for(appointment_ids: list[int]) -> tuple:
    """What our receivers would change for these appointments: statuses, payments, log entries."""
    from appointments.models import Appointment, AppointmentLogEntry
    from payments.models import Payment

    return (
        Counter(Appointment.objects.filter(pk__in=appointment_ids).values_list("status", flat=True)),
        Counter(Payment.objects.filter(appointment_id__in=appointment_ids).values_list("status", flat=True)),
        AppointmentLogEntry.objects.filter(appointment_id__in=appointment_ids).count(),
    )


def booking_customers_check(people: seeding.People, *, total: int) -> tuple[str, bool]:
    """The has-customer bookings sent the seeded Customer (no create); each first booking made one."""
    from payments.models import CheckoutAttempt, StripeCustomer

    seeded = dict(
        StripeCustomer.objects.filter(user_id__in=people.customer_users).values_list("user_id", "stripe_customer_id")
    )
    sent = CheckoutAttempt.objects.filter(payment__appointment__patient_id__in=people.customer_users).values_list(
        "payment__appointment__patient_id", "params"
    )
    reused = sum(params.get("customer") == seeded.get(patient) for patient, params in sent)
    made = StripeCustomer.objects.filter(
        user_id__in=people.first_users[:total], stripe_customer_id__isnull=False
    ).count()
    return (
        f"Stripe Customers: {reused} of {total} has-customer bookings sent the seeded one; "
        f"{made} of {total} first bookings created theirs",
        reused == made == total == len(sent),
    )


@dataclass
class PostOutcome:
    rows: list[Row]
    checks: list[tuple[str, bool]]  # (what was checked, held)
    measures: list[Measure]
    contention: Contention | None


def measure_posts(run: Run, args, *, size: int, people: seeding.People, bare_customers: list[str]) -> PostOutcome:
    """Booking and bare Checkout rows round by round, then webhooks: ours into the server with our
    receivers, the first bookings' events into a second server where bench.apps disconnected them."""
    from djstripe.models import Event

    from appointments.models import AppointmentStatus
    from payments.models import PaymentStatus
    from payments.webhooks import webhook_url_path

    n, rounds, threads = args.requests, args.rounds, args.threads
    total = n * rounds
    warm_sessions = people.first_sessions[total:]
    slots = seeding.free_slots(2 * total + len(warm_sessions) + args.contention_rounds)
    server = start_server(run, args.server, wrk=args.wrk, name="posts")
    bare_djstripe = start_server(run, args.server, wrk=args.wrk, name="bare-djstripe", BENCH_PROJECT_RECEIVERS="false")
    names = [
        "bare Checkout (1 call)", "booking POST (has customer)", "bare Checkout (2 calls)", "first booking POST",
        "bare dj-stripe", "webhook ingest",
    ]  # fmt: skip
    measured: dict[str, list[Measure]] = {name: [] for name in names}
    bare_view: list[WrkResult] = []
    retried = Counter()
    webhook_path = webhook_url_path()

    def load(name, target, items, send, expected):
        return python_load(run, target, name=name, items=items, send=send, expected=expected, threads=threads)

    # Warm-up, not measured: bookings, then their events, half into each server, so that no row
    # pays for a worker's first webhook.
    warm_slots = slots[2 * total : 2 * total + len(warm_sessions)]
    warm_up = [load("warm-up booking", server, list(zip(warm_slots, warm_sessions, strict=True)), book, 303)]
    _, _, warm_bodies = paid_session_events(run, people.first_users[total:])
    half = len(warm_bodies) // 2
    warm_up.append(
        load("warm-up webhook", bare_djstripe, warm_bodies[:half], webhook_sender(webhook_path, retried), 200)
    )
    warm_up.append(load("warm-up webhook", server, warm_bodies[half:], webhook_sender(webhook_path, retried), 200))

    def pair(r: int, *steps):
        """A bare row and ours, the bare one first in even rounds and second in odd ones."""
        for name, target, items, send, expected in steps if r % 2 == 0 else reversed(steps):
            measured[name].append(load(name, target, items, send, expected))

    for r in range(rounds):
        chunk = slice(r * n, (r + 1) * n)
        bare_view.append(run_wrk(args.wrk, server.url + BARE.path, connections=args.connections,
                                 threads=args.wrk_threads, seconds=args.duration))  # fmt: skip
        pair(
            r,
            (names[0], server, bare_customers[chunk], bare_checkout_one, 303),
            (names[1], server, list(zip(slots[chunk], people.customer_sessions[chunk], strict=True)), book, 303),
        )
        first_slots = slots[total:][chunk]
        pair(
            r,
            (names[2], server, range(n), bare_checkout_two, 303),
            (names[3], server, list(zip(first_slots, people.first_sessions[chunk], strict=True)), book, 303),
        )

    customers_used = booking_customers_check(people, total=total)
    ingest_ids, ingest_events, ingest_bodies = paid_session_events(run, people.customer_users)
    bare_ids, bare_events, bare_bodies = paid_session_events(run, people.first_users[:total])
    ours_before = ours_for(bare_ids)
    for r in range(rounds):
        chunk = slice(r * n, (r + 1) * n)
        pair(
            r,
            (names[4], bare_djstripe, bare_bodies[chunk], webhook_sender(webhook_path, retried), 200),
            (names[5], server, ingest_bodies[chunk], webhook_sender(webhook_path, retried), 200),
        )
    statuses, payments, _ = ours_for(ingest_ids)
    bare_statuses, bare_payments, _ = ours_before
    checks = [
        customers_used,
        (
            f"webhook ingest: {len(ingest_events)} events of {len(ingest_ids)} paid sessions; in the DB "
            f"{statuses[AppointmentStatus.CONFIRMED]} appointments CONFIRMED, "
            f"{payments[PaymentStatus.PAID]} payments PAID",
            statuses[AppointmentStatus.CONFIRMED]
            == payments[PaymentStatus.PAID]
            == len(ingest_ids)
            == len(ingest_events),
        ),
        (
            f"bare dj-stripe: {len(bare_events)} events of {len(bare_ids)} paid sessions; dj-stripe stored "
            f"{Event.objects.filter(id__in=bare_events).count()} of them; our appointments, payments and logs for "
            f"them unchanged ({dict(bare_statuses)}, payments {dict(bare_payments)})",
            Event.objects.filter(id__in=bare_events).count() == len(bare_events) == len(bare_ids)
            and bare_statuses == Counter({AppointmentStatus.PENDING_PAYMENT: len(bare_ids)})
            and ours_for(bare_ids) == ours_before,
        ),
        (f"webhooks answered 503 busy and delivered again, as Stripe would: {retried['retried']}", True),
        (
            f"warm-up (not measured): {warm_up[0].count} first bookings, then their events into each server: "
            f"{sum(m.ok for m in warm_up)} of {sum(m.count for m in warm_up)} answered as expected",
            all(m.ok == m.count for m in warm_up),
        ),
    ]
    run.stop_server(bare_djstripe)
    contention = None
    if args.contention_rounds:
        contention = measure_contention(
            run, server=server, sessions=people.contention_sessions, slots=slots[2 * total + len(warm_sessions) :]
        )
    run.stop_server(server)

    bare_rps = median_round(bare_view).rps
    medians = {name: sorted(ms, key=lambda m: m.rps)[len(ms) // 2] for name, ms in measured.items()}
    own_bare = {names[1]: names[0], names[3]: names[2], names[5]: names[4]}
    bare_best = median_round(bare_view)
    rows = [Row(name="bare view GET", size=size, tool="wrk", rps=bare_rps, p50_ms=bare_best.p50_ms,
                p99_ms=bare_best.p99_ms, failures=sum(r.failures for r in bare_view), x_bare=1.0)]  # fmt: skip
    for name in names:
        m = medians[name]
        own = medians.get(own_bare.get(name, ""))
        rows.append(
            Row(
                name=name, size=size, tool="python", rps=m.rps, p50_ms=m.latency_ms(0.5), p99_ms=m.latency_ms(0.99),
                failures=sum(x.count - x.ok for x in measured[name]), x_bare=m.rps / bare_rps if bare_rps else 0.0,
                x_own=m.rps / own.rps if own and own.rps else None, bar=0.8 if own else None, bar_of="own",
                notes=[error for x in measured[name] for error in x.errors()][:3], section="POST",
            )
        )  # fmt: skip
    return PostOutcome(rows=rows, checks=checks, measures=[m for ms in measured.values() for m in ms],
                       contention=contention)  # fmt: skip


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


def measure_contention(run: Run, *, server: Server, sessions: list[str], slots: list[int]) -> Contention:
    """All contenders POST the same slot at once (released by a barrier), once per round. Between
    rounds the winner's hold is marked CONFIRMED, so no patient reaches the unpaid-holds limit."""
    from django.db.models import Count

    from appointments.models import ACTIVE_STATUSES, Appointment, AppointmentStatus

    contenders, standin_url = len(sessions), run.standin.url
    outcome = Contention(rounds=len(slots), contenders=contenders)
    go = threading.Barrier(contenders + 1, timeout=HTTP_TIMEOUT * 2)
    done = threading.Barrier(contenders + 1, timeout=HTTP_TIMEOUT * 2)
    run.barriers.extend([go, done])
    results: list[list[tuple[float, Result]]] = [[None] * contenders for _ in slots]

    def contender(index: int):
        client = Client(server.port)
        try:
            for round_index, slot_id in enumerate(slots):
                go.wait()
                start = time.perf_counter()
                result = book(client, (slot_id, sessions[index]))
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


# --- two app servers ----------------------------------------------------------------------------

# The rows measured on one server and on two behind the same PostgreSQL and Redis.
SCALE_PAGES = ("home", "directory", "My appointments", "API: my appointments")
SCALE_POSTS = ("booking POST (has customer)", "webhook ingest")
# Signed-in rows on server 1 (database sessions) and on a third server keeping sessions in Redis.
SESSION_PAGES = ("floor, signed in", "My appointments", "API: my appointments")
CACHE_SESSIONS = "django.contrib.sessions.backends.cache"


@dataclass
class ScaleRow:
    """A row on one server and on two at once (the two's rps summed), in the same rounds."""

    name: str
    tool: str
    rps: dict  # layout (1 or 2 servers, "redis sessions") → the median round's rps
    bare: dict  # layout → the bare view's median rps in the same layout
    failures: int = 0
    notes: list[str] = field(default_factory=list)

    def x_bare(self, layout) -> float:
        return self.rps[layout] / self.bare[layout] if self.bare[layout] else 0.0

    def over(self, layout) -> float:
        """rps in `layout` / on server 1 alone (with database sessions)."""
        return self.rps[layout] / self.rps[1] if self.rps[1] else 0.0


def scale_patients(args) -> int:
    """Has-customer patients the two-server section books with: each round's bookings on one server
    and on two, and a warm-up booking and webhook for every worker of both servers."""
    return 2 * args.requests * args.rounds + 2 * 2 * args.server.workers if args.servers > 1 else 0


def sessions_into_cache(run: Run, keys: list[str]) -> int:
    """The seeded database sessions, copied where the cache session engine of the servers looks
    (`<prefix>:1:django.contrib.sessions.cache<key>` in the shared Redis)."""
    from django.contrib.sessions.backends.cache import KEY_PREFIX
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.cache.backends.redis import RedisCache

    cache = RedisCache(run.redis_url, {"KEY_PREFIX": run.cache_prefix})
    rows = Session.objects.filter(session_key__in=keys)
    cache.set_many({KEY_PREFIX + row.session_key: SessionStore().decode(row.session_data) for row in rows}, 86400)
    cache.close()
    return len(rows)


def measure_scale(
    run: Run, args, *, pages: list[Page], sessions: list[str], users: list[int]
) -> tuple[list[ScaleRow], list[ScaleRow], list[tuple[str, bool]]]:
    """Two gunicorn servers, same settings, each its own port, sharing the PostgreSQL database and
    one Redis (cache, rate-limit counters): every round loads server 1 alone, then both at once
    (the order alternating by round), with the same total load (wrk's connections shared between
    two wrk processes; the Python client's threads dealt between the two ports)."""
    from appointments.models import AppointmentStatus
    from hospital.models import OutboundEmail
    from payments.models import PaymentStatus
    from payments.webhooks import webhook_url_path

    n, rounds = args.requests, args.rounds
    chosen = [BARE, *(page for page in pages if page.name in SCALE_PAGES)]
    signed_in = [BARE, *(page for page in pages if page.name in SESSION_PAGES)]
    env = {"CACHE_URL": run.redis_url, "BENCH_CACHE_KEY_PREFIX": run.cache_prefix, "PUBLIC_PAGE_CACHE": "true"}
    servers = [start_server(run, args.server, wrk=args.wrk, name=f"scale-{i + 1}", **env) for i in range(2)]
    copied = sessions_into_cache(run, sorted({page.session for page in signed_in if page.session}))
    in_redis = start_server(
        run, args.server, wrk=args.wrk, name="sessions-in-redis", BENCH_SESSION_ENGINE=CACHE_SESSIONS, **env
    )
    layouts = {1: servers[:1], 2: servers}
    wrk_rounds: dict[tuple[int, str], list[WrkResult]] = {}
    post_rounds: dict[tuple[int, str], list[Measure]] = {}
    session_rounds: dict[tuple, list[WrkResult]] = {}
    problems: dict[str | tuple[str, str], list[str]] = {}  # by row; ("sessions", row) for the sessions table
    retried = Counter()
    deliver = webhook_sender(webhook_url_path(), retried)
    slots = iter(seeding.free_slots(len(sessions)))
    patients = iter(zip(sessions, users, strict=True))
    booked: list[int] = []

    def bookings_and_events(targets: list[Server], count: int, key: tuple[int, str] | None):
        """`count` has-customer bookings into `targets`, then their paid sessions' events."""
        chunk = [next(patients) for _ in range(count)]
        items = [(next(slots), session) for session, _ in chunk]
        booking = python_load(run, targets, name=SCALE_POSTS[0], items=items, send=book, expected=303,
                              threads=args.threads)  # fmt: skip
        appointment_ids, _, bodies = paid_session_events(run, [user for _, user in chunk])
        webhook = python_load(run, targets, name=SCALE_POSTS[1], items=bodies, send=deliver, expected=200,
                              threads=args.threads)  # fmt: skip
        booked.extend(appointment_ids)
        for name, measure in zip(SCALE_POSTS, (booking, webhook), strict=True):
            if key is not None:
                post_rounds.setdefault((key[0], name), []).append(measure)
            problems.setdefault(name, []).extend(measure.errors())

    try:
        for server in servers:  # warm-up, not measured: every worker's first booking and webhook
            bookings_and_events([server], 2 * args.server.workers, key=None)
        for r in range(rounds):
            for count in (1, 2) if r % 2 == 0 else (2, 1):
                targets = layouts[count]
                for page in chosen:
                    for server in targets:
                        problem = page_check(server, page, times=2 * args.server.workers)
                        if problem:
                            problems.setdefault(page.name, []).append(f"{server.name}: {problem}")
                    wrk_rounds.setdefault((count, page.name), []).append(
                        run_wrk_together(args.wrk, [s.url + page.path for s in targets], connections=args.connections,
                                         threads=args.wrk_threads, seconds=args.duration, headers=page.headers())
                    )  # fmt: skip
                bookings_and_events(targets, n, key=(count, ""))
            # Database sessions (server 1) and sessions in Redis, alternating which goes first.
            for layout, target in ((1, servers[0]), ("redis", in_redis))[:: 1 if r % 2 == 0 else -1]:
                for page in signed_in:
                    problem = page_check(target, page, times=2 * args.server.workers)
                    if problem:
                        problems.setdefault(("sessions", page.name), []).append(f"{target.name}: {problem}")
                    session_rounds.setdefault((layout, page.name), []).append(
                        run_wrk(args.wrk, target.url + page.path, connections=args.connections,
                                threads=args.wrk_threads, seconds=args.duration, headers=page.headers())
                    )  # fmt: skip
        redis_keys = run.cache_keys_count()
    finally:
        for server in [*servers, in_redis]:
            run.stop_server(server)

    bare = {count: median_round(wrk_rounds[(count, BARE.name)]).rps for count in layouts}
    rows = []
    for page in chosen:
        results = [r for count in layouts for r in wrk_rounds[(count, page.name)]]
        rows.append(
            ScaleRow(
                name=page.name, tool="wrk", rps={c: median_round(wrk_rounds[(c, page.name)]).rps for c in layouts},
                bare=bare, failures=sum(r.failures for r in results) + len(problems.get(page.name, [])),
                notes=problems.get(page.name, [])[:2],
            )
        )  # fmt: skip
    for name in SCALE_POSTS:
        measures = [m for count in layouts for m in post_rounds[(count, name)]]
        rows.append(
            ScaleRow(
                name=name, tool="python",
                rps={c: sorted(post_rounds[(c, name)], key=lambda m: m.rps)[len(post_rounds[(c, name)]) // 2].rps
                     for c in layouts},
                bare=bare, failures=sum(m.count - m.ok for m in measures), notes=problems.get(name, [])[:3],
            )
        )  # fmt: skip
    session_bare = {layout: median_round(session_rounds[(layout, BARE.name)]).rps for layout in (1, "redis")}
    session_rows = [
        ScaleRow(
            name=page.name, tool="wrk",
            rps={layout: median_round(session_rounds[(layout, page.name)]).rps for layout in (1, "redis")},
            bare=session_bare,
            failures=sum(r.failures for layout in (1, "redis") for r in session_rounds[(layout, page.name)])
            + len(problems.get(("sessions", page.name), [])),
            notes=problems.get(("sessions", page.name), [])[:2],
        )
        for page in signed_in
    ]  # fmt: skip
    statuses, payments, _ = ours_for(booked)
    emails = OutboundEmail.objects.filter(key__in=[f"appointment-confirmed:{pk}" for pk in booked]).count()
    checks = [
        (
            f"two servers: {len(booked)} bookings (warm-up included) on one server or both, their events into the "
            f"same: {statuses[AppointmentStatus.CONFIRMED]} CONFIRMED, {payments[PaymentStatus.PAID]} paid, "
            f"{emails} confirmation e-mails recorded (one each)",
            statuses[AppointmentStatus.CONFIRMED] == payments[PaymentStatus.PAID] == emails == len(booked),
        ),
        (f"two servers: {redis_keys} keys in the shared Redis under this run's prefix", redis_keys > 0),
        (f"sessions in Redis: {copied} signed-in sessions copied from the database", copied > 0),
    ]
    return rows, session_rows, checks


# --- report -------------------------------------------------------------------------------------


def print_table(title: str, rows: list[Row]) -> None:
    print()
    print(title)
    header = (
        f"{'row':<28}{'size':>5}  {'tool':<7}{'queries':>9}{'rps':>9}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'x bare':>8}{'x own':>7}{'x floor':>8}{'bar':>13}  result"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        queries = "" if row.queries is None else f"{row.queries}{' GROWS' if row.grows else ''}"
        bar = "" if row.bar is None else f">={row.bar:g} {row.bar_of}"
        own = "" if row.x_own is None else f"{row.x_own:.2f}"
        floor = "" if row.x_floor is None else f"{row.x_floor:.2f}"
        result = f"FAILED ({row.failures} wrong)" if row.failures else ("below" if row.below_bar else "ok")
        print(
            f"{row.name:<28}{row.size:>5}  {row.tool:<7}{queries:>9}{row.rps:>9.1f}{row.p50_ms:>8.1f}{row.p99_ms:>8.1f}"
            f"{row.x_bare:>8.3f}{own:>7}{floor:>8}{bar:>13}  {result}"
        )
    for row in rows:
        for note in row.notes:
            print(f"  ! {row.name} ({row.size}): {note}")


def print_layouts_table(title: str, rows: list[ScaleRow], *, other, names: tuple[str, str, str], label: str) -> None:
    """Rows measured on server 1 alone and in the `other` layout: each layout's rps and ratio to
    its own bare view, and the other's rps over server 1's."""
    print()
    print(title)
    first, second, ratio = names
    header = f"{'row':<28}{'tool':<7}{first:>10}{'x bare':>8}{second:>11}{'x bare':>8}{ratio:>9}  result"
    print(header)
    print("-" * len(header))
    for row in rows:
        result = f"FAILED ({row.failures} wrong)" if row.failures else "ok"
        print(
            f"{row.name:<28}{row.tool:<7}{row.rps[1]:>10.1f}{row.x_bare(1):>8.3f}{row.rps[other]:>11.1f}"
            f"{row.x_bare(other):>8.3f}{row.over(other):>9.2f}  {result}"
        )
    for row in rows:
        for note in row.notes:
            print(f"  ! {row.name} ({label}): {note}")


def print_contention(contention: Contention) -> bool:
    seconds, bad = contention.round_seconds, contention.bad_rounds
    total = sum(contention.round_statuses, Counter())
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(total.items(), key=lambda kv: str(kv[0])))
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
    return not bad and contention.db_one_holder


def bars_missed(rows: list[Row]) -> list[str]:
    """Per table: how many rows with a bar missed it, named unless all did."""
    summary = []
    for section in ("uncached", "cached", "POST"):
        with_bar = [row for row in rows if row.section == section and row.bar is not None]
        below = [row for row in with_bar if row.below_bar]
        if below:
            names = "all" if len(below) == len(with_bar) else ", ".join(f"{row.name} ({row.size})" for row in below)
            summary.append(f"{section} {len(below)} of {len(with_bar)} ({names})")
    return summary


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--sizes", default="10,1000", help="doctor counts the pages are measured at, growing (10,1000)")
    add("--rounds", type=int, default=3, help="rounds per row; the table shows each row's median round (3)")
    add("--duration", type=int, default=2, help="whole seconds of wrk per GET row and round (2)")
    add("--connections", type=int, default=16, help="wrk connections (16)")
    add("--wrk-threads", type=int, default=min(2, os.cpu_count() or 1), help="wrk threads (the CPU count, max 2)")
    add("--cache", choices=["both", "off", "on"], default="both", help="page rows uncached, cached or both (both)")
    add("--requests", type=int, default=100, help="POSTs per POST row and round, webhooks alike (100)")
    add("--threads", type=int, default=16, help="Python client threads for the POST rows (16, like wrk)")
    add("--contenders", type=int, default=50, help="patients racing for one slot per round (50)")
    add("--contention-rounds", type=int, default=20, help="contention rounds (20; 0 skips)")
    add("--worker-class", choices=["sync", "gthread"], default="sync", help="gunicorn worker class (sync)")
    add("--workers", type=int, default=3, help="gunicorn workers (3)")
    add("--server-threads", type=int, default=4, help="threads per gthread worker (4; sync: 1)")
    add("--servers", type=int, choices=[1, 2], default=1,
        help="2: also measure a few rows on two servers sharing PostgreSQL and Redis, beside one (1)")  # fmt: skip
    add("--redis-url", default="redis://127.0.0.1:6379/8",
        help="the Redis the two servers share (--servers 2); only this run's keys are used and removed")  # fmt: skip
    add("--check-bars", action="store_true", help="a row below its bar fails the run too")
    add("--timeout", type=float, default=2400, help="hard limit for the whole run, seconds (2400)")
    add("--server-log", type=Path, default=None, help="keep the servers' logs (Django's errors) in this file")
    args = parser.parse_args(argv)
    args.sizes = sorted({int(size) for size in args.sizes.split(",")})
    if min(args.requests, args.threads, args.contenders, args.rounds, args.connections, *args.sizes) < 1:
        parser.error("counts must be positive")
    if args.contention_rounds < 0 or args.duration <= 0:
        parser.error("--contention-rounds must be 0 or more and --duration positive")
    if args.servers > 1 and not os.environ.get("DATABASE_URL", "").startswith(POSTGRES_SCHEMES):
        parser.error(
            "--servers 2 needs PostgreSQL: servers on other machines share a database server, not a SQLite "
            "file, so SQLite is not the scale-out path. Set DATABASE_URL=postgres://USER@HOST:PORT/any."
        )
    args.server = ServerConfig(
        args.worker_class, args.workers, args.server_threads if args.worker_class == "gthread" else 1
    )
    return args


def benchmark(run: Run, args) -> bool:
    import django

    django.setup()
    import gunicorn
    from django.core.management import call_command
    from django.db import connections

    from hospital.models import Slot
    from hospital.selectors import doctor_free_slots_by_day

    load_at_start = os.getloadavg()[0]
    step = time.perf_counter()
    build_database(run)
    # The endpoint row dj-stripe checks signatures against; its URL is only what events would go to.
    call_command("stripe_webhook_setup", base_url="http://127.0.0.1", stdout=open(os.devnull, "w"))  # noqa: SIM115
    run.standin.configure(withhold=True)
    n = args.requests * args.rounds
    seeding.specialties_create()
    seeding.doctors_grow(args.sizes[0])
    warm_up = 2 * 2 * args.server.workers  # first bookings whose events warm both webhook servers
    scale_n = scale_patients(args)
    people = seeding.patients_create(
        customers=n + scale_n, first=n + warm_up, contenders=args.contenders, appointments=MY_APPOINTMENTS
    )
    portal = seeding.portal_doctor_create(visits=PORTAL_VISITS)
    seeding.stripe_customers_create(people.customer_users)
    # The two-server section's patients are its own: the POST section checks all of its own.
    scale_sessions, scale_users = people.customer_sessions[n:], people.customer_users[n:]
    people = dataclasses.replace(people, customer_sessions=people.customer_sessions[:n],
                                 customer_users=people.customer_users[:n])  # fmt: skip
    bare_customers = seeding.bare_customers_create(n)
    billing_user, billing_session = seeding.billing_staff_create()
    pages = pages_to_measure(people, portal, billing_session=billing_session)
    signed_in_users = {
        people.page_session: people.page_patient_id,
        portal.session: portal.user_id,
        portal.patient_session: portal.patient_id,
        billing_session: billing_user,
    }
    print(f"database built and seeded in {time.perf_counter() - step:.1f} s ({run.db_vendor})", flush=True)

    doctor = seeding.page_doctor()
    page_rows: dict[bool, list[Row]] = {False: [], True: []}
    queries_at: dict[int, dict[str, int]] = {}
    slots_at: dict[int, int] = {}
    cache_modes = {"both": [False, True], "off": [False], "on": [True]}[args.cache]
    for size in args.sizes:
        step = time.perf_counter()
        seeding.doctors_grow(size)
        slots_at[size] = Slot.objects.count()
        queries_at[size] = count_queries(pages, users=signed_in_users)
        connections.close_all()
        print(f"{size} doctors, {slots_at[size]} slots ({time.perf_counter() - step:.1f} s); measuring pages …",
              flush=True)  # fmt: skip
        for cached in cache_modes:
            page_rows[cached] += measure_pages(
                run, args, size=size, pages=pages, queries=queries_at[size], cached=cached
            )
    smallest = queries_at[args.sizes[0]]
    for rows in page_rows.values():
        for row in rows:
            row.grows = row.queries is not None and row.queries > smallest.get(row.name, row.queries)
    free_on_page = sum(len(day.slots) for day in doctor_free_slots_by_day(doctor=doctor))

    print("measuring POSTs and webhooks …", flush=True)
    standin_rtt = standin_round_trip(run.standin.url)
    posts = measure_posts(run, args, size=args.sizes[-1], people=people, bare_customers=bare_customers)
    connections.close_all()
    scale_rows, session_rows, scale_checks = [], [], []
    if args.servers > 1:
        print("measuring one app server and two …", flush=True)
        scale_rows, session_rows, scale_checks = measure_scale(
            run, args, pages=pages, sessions=scale_sessions, users=scale_users
        )
        connections.close_all()

    print()
    print(
        f"database: {database_version(run)}   cpus: {os.cpu_count()}, 1-minute load average before the run "
        f"{load_at_start:.1f} (above ~0.2: other processes share these cores)"
    )
    print(f"rounds: {args.rounds}, each row from its median round by rps (the bare view's too, measured in every "
          "round)")  # fmt: skip
    print(f"server: {args.server.describe()} (gunicorn {gunicorn.__version__}), DEBUG off, for every section; "
          f"a fresh server per page table and size")  # fmt: skip
    print(f"load: {wrk_version(args.wrk)}: {args.connections} connections, {args.wrk_threads} threads, "
          f"{args.duration:g} s a row a round, warm-up and answer check before each row; POST rows: Python "
          f"http.client, {args.threads} keep-alive threads, {args.requests} requests a row a round")  # fmt: skip
    sizes = ", ".join(f"{size} doctors / {slots_at[size]} slots" for size in args.sizes)
    print(f"data: {sizes} ({seeding.SLOTS_PER_DAY * seeding.DAYS} a doctor); doctor page: {free_on_page} free "
          f"slots in 14 days; My appointments: {MY_APPOINTMENTS} visits; doctor's portal ({portal.zone}): "
          f"{PORTAL_VISITS} visits today and {PORTAL_VISITS} from day 15; queries counted with Django's test "
          f"client, cache off, GROWS when more at {args.sizes[-1]} than at {args.sizes[0]} doctors")  # fmt: skip
    if False in cache_modes:
        print_table("pages, uncached (PUBLIC_PAGE_CACHE=false): bars 0.16 x bare, home 0.3", page_rows[False])
    if True in cache_modes:
        print_table("pages, cached (PUBLIC_PAGE_CACHE=true): stretch 0.5 x bare for public pages",
                    page_rows[True])  # fmt: skip
    print_table(
        f"POSTs at {args.sizes[-1]} doctors: x bare = to the wrk bare view of the same server; x own = to the"
        " bare row above it (same Python client); goal 0.8",
        posts.rows,
    )
    if scale_rows:
        print_layouts_table(
            f"one app server and two behind the same PostgreSQL and Redis, at {args.sizes[-1]} doctors, page cache "
            "on; x bare = to the bare view of the same layout; 2/1 = rps of two servers / one",
            scale_rows, other=2, names=("1 server", "2 servers", "2/1"), label="two servers",
        )  # fmt: skip
        print_layouts_table(
            "signed in, one server, CACHE_URL=Redis: sessions in the database (SESSION_ENGINE db, server 1 above) "
            "and in Redis (cache), each x bare of its own server; redis/db = rps in Redis / in the database",
            session_rows, other="redis", names=("db", "redis", "redis/db"), label="sessions",
        )  # fmt: skip
    all_rows = page_rows[False] + page_rows[True] + posts.rows
    all_good = not any(row.failures for row in all_rows + scale_rows + session_rows)
    for text, held in posts.checks + scale_checks:
        print(f"{text} [{'ok' if held else 'MISMATCH'}]")
        all_good &= held
    if posts.contention:
        all_good &= print_contention(posts.contention)
    print(
        f"stand-in: one API round trip (GET /v1/account, keep-alive, sequential) median "
        f"{1000 * median(standin_rtt):.1f} ms; a first booking makes 2 such calls, a later one 1, a webhook 4"
    )
    errors, kinds = server_errors(run.logs)
    if errors:
        top = "; ".join(f"{count} x {line[:120]}" for line, count in kinds.most_common(3))
        print(f"server log: {errors} requests answered 500: {top}")
        all_good = False
    below = [row for row in all_rows if row.below_bar]
    print("below their bar:", "; ".join(bars_missed(all_rows)) or "none")
    bars_ok = not below or not args.check_bars
    verdict = "all as expected" if all_good else "SOME REQUESTS OR DATABASE CHECKS FAILED (see above)"
    print("result:", verdict + ("" if bars_ok else "; bars missed (--check-bars)"))
    return all_good and bars_ok


def redis_ready(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        raise RuntimeError(f"--servers 2 shares a Redis between the servers; {url} does not answer: {error}") from None
    finally:
        client.close()
    return url


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
        args.wrk = ensure_wrk()
        run.standin = StandinProcess(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET).start()
        configure_environment(run)
        if args.servers > 1:
            run.redis_url = redis_ready(args.redis_url)
        ok = benchmark(run, args)
    except BaseException as error:
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(f"\nbench failed: {type(error).__name__}: {error}", file=sys.stderr)
        for log in run.logs[-2:]:
            print(f"{log.name} (tail):\n" + log_tail(log), file=sys.stderr)
        if run.standin:
            print("stand-in output (tail):\n" + "\n".join(run.standin.output().splitlines()[-20:]), file=sys.stderr)
        if not isinstance(error, Exception | KeyboardInterrupt):
            raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        run.stop_processes()
        try:
            run.forget_cache()
        except Exception as error:
            print(f"could not remove this run's keys ({run.cache_prefix}:*) from {run.redis_url}: {error}",
                  file=sys.stderr)  # fmt: skip
        if args.server_log:
            args.server_log.write_text("".join(log.read_text(errors="replace") for log in run.logs if log.exists()))
        try:
            run.drop_database()
        except Exception as error:
            print(f"could not drop the bench database {run.db_name}: {error}", file=sys.stderr)
        print(f"total {time.perf_counter() - started:.0f} s (processes stopped, database removed)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
