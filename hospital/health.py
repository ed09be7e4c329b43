"""GET /healthz for load balancers: the database, the cache and the task queue, 200 or 503.

503 only for what taking this server out of rotation can help: its database connection. The
cache (Redis) and the task queue are shared by every app server, so when one of them fails every
probe would fail at once and the balancer would stop the whole site, while the pages still work
(the cache degrades to misses, the queue's tasks wait for a worker). Those answer 200 with
"degraded" and the failing check named. `GET /healthz?strict` is for monitoring and alerts: 503
when any check fails.

A few lines of ours rather than django-health-check: three checks, the task-queue one (tasks no
worker takes) is ours to write either way, and it is one dependency fewer. It answers in a
middleware ahead of the others, so a probe creates no session, touches no page cache, writes
nothing to the database, is never redirected to HTTPS (probes often come over plain HTTP on the
private network) and passes whatever Host the balancer sends (often its own IP). The answer names
the failing check and a short reason; details (host names, driver messages) go to the log only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

logger = logging.getLogger(__name__)
HEALTH_PATH = "/healthz"
HEALTH_QUERY = "SELECT 1"


class CheckFailed(Exception):
    """The check's answer for the balancer's operator (short; no host names or secrets)."""


def database_check() -> str:
    postgres = connection.vendor == "postgresql"
    # No transaction on SQLite: ours begin IMMEDIATE, which would wait for the write lock.
    with transaction.atomic() if postgres else contextlib.nullcontext(), connection.cursor() as cursor:
        if postgres:
            # A database that accepts connections but cannot answer is down for our purposes.
            cursor.execute("SET LOCAL statement_timeout = %s", [settings.HEALTH_DATABASE_TIMEOUT_MS])
        cursor.execute(HEALTH_QUERY)
        cursor.fetchone()
    return "ok"


def cache_check() -> str:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    found = cache.get(key)
    cache.delete(key)
    if found != "1":
        raise CheckFailed("a value written to the cache could not be read back")
    return "ok"


def task_queue_check(now: dt.datetime | None = None) -> str:
    """Reachable, and no task ready to run has waited longer than HEALTH_TASKS_STUCK_MINUTES: a
    task that old means no worker is taking work from its queue."""
    cutoff = (now or timezone.now()) - dt.timedelta(minutes=settings.HEALTH_TASKS_STUCK_MINUTES)
    oldest = (
        DBTaskResult.objects.filter(status=TaskResultStatus.READY, enqueued_at__lt=cutoff)
        # Waiting since it was due: a task scheduled for later is not late before its time.
        .filter(Q(run_after=get_date_max()) | Q(run_after__lt=cutoff))
        .order_by("enqueued_at")
        .values("enqueued_at", "run_after", "queue_name")
        .first()
    )
    if oldest is None:
        return "ok"
    due = oldest["enqueued_at"]
    if oldest["run_after"] != get_date_max():
        due = max(due, oldest["run_after"])
    raise CheckFailed(f"tasks waiting since {due.isoformat(timespec='seconds')} (queue {oldest['queue_name']})")


CHECKS: dict[str, Callable[[], str]] = {
    "database": database_check,
    "cache": cache_check,
    "task_queue": task_queue_check,
}
# What this server cannot serve without; the others are shared by all servers (the docstring).
SERVING_CHECKS = frozenset({"database"})


def health_report() -> dict[str, str]:
    """Each check's answer, "ok" or "failing: <reason>". Every check runs, so one answer names
    every failure."""
    answers: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            answers[name] = check()
        except CheckFailed as failed:
            answers[name] = f"failing: {failed}"
        except Exception as exc:  # any fault of a dependency means it is down
            logger.warning("Health check %s failed", name, exc_info=True)
            answers[name] = f"failing: unreachable ({type(exc).__name__})"
    if any(answer != "ok" for answer in answers.values()):
        logger.warning("Health check failing: %s", answers, extra={"checks": answers})
    return answers


def healthz(request: HttpRequest) -> HttpResponse:
    answers = health_report()
    failing = [name for name, answer in answers.items() if answer != "ok"]
    if not failing:
        body, status = {"status": "ok", "checks": answers}, 200
    else:
        serving = not SERVING_CHECKS.intersection(failing)
        body = {"status": "degraded" if serving else "failing", "failing": failing, "checks": answers}
        status = 200 if serving and "strict" not in request.GET else 503
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers GET/HEAD /healthz before any other middleware runs (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)
