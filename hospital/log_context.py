"""What every log line carries besides its message: the id of the request (or task) it belongs to,
and fields bound for a stretch of work (e.g. the Stripe event being handled).

Both live in context variables, so each request and each worker task sees only its own. The
`LogContextFilter` copies them onto every record that reaches a handler; `hospital.json_log`
writes them out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# What a proxy's X-Request-ID may be for us to keep it: short, and nothing that could break a log
# line or a header (uuid, hex, base64url, dotted ids all fit).
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_request_id: ContextVar[str] = ContextVar("request_id", default="")
_bound_fields: ContextVar[dict[str, object] | None] = ContextVar("log_fields", default=None)


def current_request_id() -> str:
    return _request_id.get()


def request_id_begin(request_id: str) -> None:
    """From the first middleware on. Not a `with` block around the middleware: Django writes its
    "Not Found" and "Service Unavailable" lines after the middleware returned, and a streamed
    body is read later still; `request_id_end` clears it when the response is closed."""
    _request_id.set(request_id)


def request_id_end(sender, **kwargs) -> None:
    """Django's request_finished."""
    _request_id.set("")


def task_id_begin(sender, task_result, **kwargs) -> None:
    """django-tasks' task_started: a worker's task logs under its own id, `task-<its result id>`
    (the row in the admin's task results). A task run inside a request keeps the request's id."""
    if not _request_id.get():
        _request_id.set(f"task-{task_result.id}")


def task_id_end(sender, task_result, **kwargs) -> None:
    """django-tasks' task_finished (after its own "Task ... SUCCESSFUL" line, which keeps the id)."""
    if _request_id.get() == f"task-{task_result.id}":
        _request_id.set("")


@contextmanager
def log_fields(**fields: object) -> Iterator[None]:
    """Add `fields` to every log line written inside the block (on top of any bound outside it)."""
    token = _bound_fields.set({**(_bound_fields.get() or {}), **fields})
    try:
        yield
    finally:
        _bound_fields.reset(token)


def current_context() -> dict[str, object]:
    """The request (or task) id and the bound fields as they are now, for a line written later,
    when they may be gone (after the transaction commits): pass them as the call's `extra`."""
    return {**(_bound_fields.get() or {}), "request_id": _request_id.get() or "-"}


class LogContextFilter(logging.Filter):
    """Puts `request_id` ("-" outside any request or task) and the bound fields on each record.
    A field the call itself passed in `extra` (request_id included) wins over a bound one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        for name, value in (_bound_fields.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True
