"""Durable side effects: claim a row, do the work outside any transaction, record the outcome.

Rows (OutboundEmail, payments.Refund) are written in the transaction that decided the work,
with a task enqueued in the same transaction. django-tasks-db neither retries a failed task nor
recovers one whose worker died, so `outbox_sweep` re-queues every row whose work is still
pending once its backoff has passed; a claim makes two workers never do one row at once. A task
left RUNNING by a worker that died is marked failed (`WorkerLost`) and its row queued again as a
new task: the row, not the task, says what is left to do, and its claim stops two doing it.

Several tasks may name one row (the sweeper queues a copy every REQUEUE_AFTER while no worker
runs), so the backoff lives in the row, not in the queue: a task may attempt its row only when
`claim` says so, and every other copy does nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Model, Q
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

BACKOFF_FIRST = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=1)
# A row the sweeper queued is not queued again for this long, so a stopped worker collects one
# copy of a task per five minutes, not one per sweep.
REQUEUE_AFTER = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class OutboxKind:
    model: type[Model]
    pending: Q  # rows whose work is not done yet
    task: Task  # takes the row's id

    def enqueue(self, pk: int) -> None:
        self.task.enqueue(pk)


_kinds: list[OutboxKind] = []
# Periodic tidy-ups of the apps above hospital (e.g. ending lapsed holds), run by the sweeper.
# Nothing may depend on them having run: each only does early what a later request would do.
_tidy_ups: dict[str, Callable[[], int]] = {}


def register(*, model: type[Model], pending: Q, task: Task) -> None:
    _kinds.append(OutboxKind(model=model, pending=pending, task=task))


def _kind_of(row: Model) -> OutboxKind:
    return next(kind for kind in _kinds if isinstance(row, kind.model))


def enqueue(row: Model) -> None:
    """Queue the task that carries out a row's work, through the kind its app registered (the
    caller need not import the app's task module, which imports its services)."""
    _kind_of(row).enqueue(row.pk)


def register_tidy_up(*, name: str, run: Callable[[], int]) -> None:
    """`run` returns how many rows it tidied; `name` labels that count in the sweeper's output."""
    _tidy_ups[name] = run


def tidy_ups_run() -> dict[str, int]:
    return {name: run() for name, run in _tidy_ups.items()}


def claim_duration() -> dt.timedelta:
    """How long one attempt may take before another worker may assume the first one died."""
    return dt.timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS)


def _unclaimed(now: dt.datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def _may_attempt(now: dt.datetime) -> Q:
    """Idle and due (a new row's first attempt is due at once, whatever `next_attempt_at` says),
    or its claim has lapsed: the worker holding it died, or the sweeper queued it after its backoff
    (`outbox_sweep` leaves a lapsed claim for exactly that). A row backing off after a failed
    attempt is neither, so the extra copies of its task find nothing to do."""
    idle_and_due = Q(claimed_until__isnull=True) & (Q(attempts=0) | Q(next_attempt_at__lte=now))
    return idle_and_due | Q(claimed_until__lte=now)


def claim(kind_model: type[Model], pending: Q, pk: int, *, now: dt.datetime | None = None):
    """The row, claimed for one attempt; None when its work is done, another worker has it, or it
    is backing off after a failed attempt."""
    now = now or timezone.now()
    taken = kind_model.objects.filter(pending, _may_attempt(now), pk=pk).update(
        claimed_until=now + claim_duration(), attempts=F("attempts") + 1
    )
    return kind_model.objects.get(pk=pk) if taken else None


def release_for_retry(row: Model, error: str, *, now: dt.datetime | None = None) -> None:
    """The attempt failed in a way worth retrying: back off exponentially, then let the sweeper requeue."""
    now = now or timezone.now()
    delay = min(BACKOFF_FIRST * 2 ** max(row.attempts - 1, 0), BACKOFF_MAX)
    type(row).objects.filter(pk=row.pk).update(claimed_until=None, next_attempt_at=now + delay, last_error=error[:2000])


def due(now: dt.datetime) -> Q:
    """Rows (pending ones, with the kind's own filter) that the sweeper would queue again now: no
    live claim on them (none, or its worker died) and past their backoff."""
    return _unclaimed(now) & Q(next_attempt_at__lte=now)


def _requeue(kind: OutboxKind, pk: int, now: dt.datetime, *, when: Q | None = None) -> bool:
    # `next_attempt_at` moves on so later sweeps do not queue it again at once; the lapsed claim
    # lets the copy queued here (or an earlier one) make the attempt it is due. Conditional (on
    # `when`, by default `due`), so a worker that claimed the row meanwhile keeps it.
    taken = kind.model.objects.filter(kind.pending, due(now) if when is None else when, pk=pk).update(
        next_attempt_at=now + REQUEUE_AFTER, claimed_until=now
    )
    if taken:
        kind.enqueue(pk)
    return bool(taken)


def requeue(row: Model, *, now: dt.datetime | None = None) -> bool:
    """Queue another attempt of one row whose work is pending and due, as the sweeper would;
    False when it is not (done, claimed by a live worker, or backing off)."""
    return _requeue(_kind_of(row), row.pk, now or timezone.now())


def outbox_sweep(*, now: dt.datetime | None = None) -> int:
    """Queue a task for every row whose work is pending and due. Returns how many were queued."""
    now = now or timezone.now()
    queued = 0
    for kind in _kinds:
        for pk in kind.model.objects.filter(kind.pending, due(now)).values_list("pk", flat=True):
            queued += _requeue(kind, pk, now)
    return queued


class WorkerLost(Exception):
    """Recorded on a task whose worker stopped (killed, its machine lost) before finishing it."""


def lost_tasks_requeue(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Mark failed the tasks whose worker died during an attempt, and queue their rows again.

    django-tasks-db leaves such a task RUNNING for ever. A task of an outbox kind counts as lost
    once it has run longer than an attempt may take and its row holds no live claim (the worker
    never claimed it, or the claim lapsed). Its row, if its work is still pending, is queued at
    once, as a new task, whatever its backoff says: the attempt did not fail, it never ended.
    A new task rather than the old one set back to READY: the dead one keeps its history in the
    admin (which worker, since when, marked lost), and a worker that was only slow records its
    own result on its own task (a late success overwrites the FAILED). Both steps are
    conditional, so a task that finished meanwhile, or a row another worker claimed, is left
    alone. Returns (tasks marked lost, rows queued again)."""
    now = now or timezone.now()
    kinds = {kind.task.module_path: kind for kind in _kinds}
    lost = requeued = 0
    stale = DBTaskResult.objects.running().filter(task_path__in=kinds, started_at__lte=now - claim_duration())
    for result in stale:
        kind, (pk,) = kinds[result.task_path], result.args_kwargs["args"]
        if kind.model.objects.filter(pk=pk, claimed_until__gt=now).exists():
            continue  # its worker may be alive still: a later sweep decides once the claim lapses
        marked = DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
            traceback=(  # short lines: the admin shows them unwrapped
                "WorkerLost: its worker stopped before finishing it (killed, or its machine lost).\n"
                f"Worker: {', '.join(result.worker_ids)}\n"
                f"Started: {result.started_at.isoformat()}\n"
                "sweep_outbox queued its work again as a new task.\n"
            ),
        )
        if marked:
            lost += 1
            requeued += _requeue(kind, pk, now, when=_unclaimed(now))
    return lost, requeued
