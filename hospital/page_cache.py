"""Cached fragments of the public pages (the specialty grid, directory results, a doctor's free
times) that are never stale.

Two things can change what such a fragment shows:
- a write (a booking, a cancelled hold, a schedule, time-off, fee or name change, a slot blocked
  in the admin). Every one bumps `PublicPagesVersion` after its transaction commits, and the
  version is part of every key, so the next request builds the fragment anew. Model saves and
  deletes bump through signals (the admin included); bulk writes, which send no signals, call
  `bump_on_commit()` themselves.
- time alone: a payment hold runs out, a slot passes the booking cut-off, a slot enters the
  "next two weeks" window. Nothing is written then (holds expire lazily), so whoever builds a
  fragment also says when the first such moment comes, and the entry expires then.

The version is read from the database on every request, so the local-memory cache (one per
server process) is as correct as a shared Redis one; Redis only saves the other processes the
work of building the same fragment again. Entries never carry anything of the signed-in user.
While the cache is down (hospital.cache_outage) every fragment is built for the request, as with
PUBLIC_PAGE_CACHE off: the page is slower, never wrong.
"""

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min, Model, QuerySet
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils import timezone

from hospital import slot_holders
from hospital.cache_outage import CACHE_ERRORS, cache_failed
from hospital.models import PublicPagesVersion, Slot, booking_cutoff

T = TypeVar("T")
logger = logging.getLogger(__name__)


def cached(
    request: HttpRequest,
    name: str,
    *key_parts: object,
    build: Callable[[dt.datetime], T],
    changes_at: Callable[[T, dt.datetime], dt.datetime | None] = lambda value, now: None,
) -> T:
    """`build(now)` from the cache, or built and stored until `changes_at(value, now)`: the first
    moment time alone changes it (None: only a write does; `now` or earlier: not stored at all).
    Key parts name everything the value depends on besides the data; nothing of the signed-in
    user may be among them or in the value."""
    if not settings.PUBLIC_PAGE_CACHE:
        return build(timezone.now())
    key = _key(name, _version_for(request), key_parts)
    try:
        value = cache.get(key)
    except CACHE_ERRORS as error:
        cache_failed(logger, "reading a page fragment", error)
        # Not stored either: a cache that just failed would most likely make the page wait again.
        return build(timezone.now())
    if value is None:
        now = timezone.now()
        value = build(now)
        seconds = settings.PUBLIC_PAGE_CACHE_MAX_SECONDS
        if (moment := changes_at(value, now)) is not None:
            seconds = min(seconds, (moment - timezone.now()).total_seconds())
        if seconds > 0:
            try:
                cache.set(key, value, timeout=seconds)
            except CACHE_ERRORS as error:
                cache_failed(logger, "storing a page fragment", error)
    return value


def _key(name: str, version: int, key_parts: Iterable[object]) -> str:
    # Search words are the visitor's own text: hashed, the key is short and safe for any backend.
    digest = hashlib.sha256(repr(tuple(key_parts)).encode()).hexdigest()[:32]
    return f"public-page:{version}:{name}:{digest}"


def _version_for(request: HttpRequest) -> int:
    """The version, read once per request and before anything the page shows: content read after
    a write's commit but stored under the version before its bump is never looked up again."""
    if not hasattr(request, "public_pages_version"):
        request.public_pages_version = _current_version()
    return request.public_pages_version


def _current_version() -> int:
    # Plain SQL: building this query with the ORM costs ten times what running it does, and a
    # cached page does little else.
    table = connection.ops.quote_name(PublicPagesVersion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT number FROM {table} WHERE id = 1")  # noqa: S608 (no outside input)
        row = cursor.fetchone()
    return row[0] if row else 0


def bump() -> None:
    if PublicPagesVersion.objects.filter(pk=1).update(number=F("number") + 1):
        return
    try:
        with transaction.atomic():
            PublicPagesVersion.objects.create(pk=1, number=1)
    except IntegrityError:  # another process created the row first
        PublicPagesVersion.objects.filter(pk=1).update(number=F("number") + 1)


def bump_on_commit() -> None:
    """Bump once the current transaction commits (at once outside one).

    After the commit, not inside the transaction: the counter is one row, and holding its lock
    until commit would make every booking wait for every other. Once per transaction, however
    many rows it writes (a schedule change deletes slots one signal at a time).
    """
    if any(callback is bump for _savepoints, callback, _robust in connection.run_on_commit):
        return
    transaction.on_commit(bump)


def watch(model: type[Model], *, ignore_fields: frozenset[str] = frozenset()) -> None:
    """Bump on every save and delete of `model`, except saves of only `ignore_fields`."""

    def saved(sender, update_fields=None, **kwargs):
        if update_fields is None or not set(update_fields) <= ignore_fields:
            bump_on_commit()

    def deleted(sender, **kwargs):
        bump_on_commit()

    post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"page_cache_saved_{model._meta.label}")
    post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=f"page_cache_deleted_{model._meta.label}")


def free_times_change_at(
    *, now: dt.datetime, slots: QuerySet[Slot], earliest_shown: dt.datetime | None, window_ends_at=None
) -> dt.datetime | None:
    """The first moment after `now` at which the free times among `slots` change with no write.

    `earliest_shown` is the start of the earliest free slot on the page: it disappears when it
    passes the booking cut-off. A hold on any of `slots` running out frees its slot. With a
    window (free times up to `window_ends_at`, which moves with the clock), the first slot after
    the window appears when the window reaches it.
    """
    moments = [slot_holders.next_release(now=now, slots=slots)]
    if earliest_shown is not None:
        moments.append(earliest_shown - booking_cutoff())
    if window_ends_at is not None:
        next_beyond = slots.filter(starts_at__gte=window_ends_at, is_blocked=False).aggregate(at=Min("starts_at"))
        if next_beyond["at"] is not None:
            moments.append(next_beyond["at"] - (window_ends_at - now))
    return min((moment for moment in moments if moment is not None), default=None)
