"""Sessions read from the shared cache and kept in the database (SESSION_ENGINE with
CACHE_URL=redis://...): Django's cached_db, made to carry on while the cache is down
(hospital.cache_outage), without bringing back a session that was ended during the outage.

- Reading: a session the cache cannot give is read from the database (Django's cached_db does that
  already); writing that copy back to the cache is skipped when it fails too. An entry that cannot
  be read back (not unpickled) is a miss, as in Django's.
- Saving: the database row is written; a failed cache write is skipped. The cache may then hold
  the session as it was before this save and serve it once Redis answers again, and the next save
  writes that older copy back to the row: what the session learnt during the outage is lost. It
  never gains rights that way: log-in gets a new key, and what takes rights away (a new password,
  deactivation, a role, a removed authenticator, the end of all sessions below) is read from the
  database on every request. It can cost some: a staff member's idle clock read as it was before
  the outage signs them out (they log in again), a two-factor code given during it is asked again.
- Ending a session (log-out, the idle log-off, a session whose password changed): the database row
  goes first, then the cached copy. If the cache cannot forget it, that copy would sign the person
  in again once Redis is back. So then every session of that user ends (a new session epoch on
  the user row, which Django reads and checks each session against on every request anyway): the
  cached copy is refused at its first use, and removed. The price, only during an outage, is that
  the person's other browsers are signed out too. Refusing the log-out with a 503 instead would
  keep them signed in just when they asked not to be, perhaps on a shared screen. A session its
  hash already refused ends no other: its cached copies carry the same hash (a key keeps its hash).
- A new key for the same session (cycle_key: at log-in, at the two-factor step, when a rotated
  SECRET_KEY re-signs it): a failure to forget the old key is only logged. That key's cached copy
  holds what the same browser held a moment before (no one, the password step without its code,
  or its own session under the old secret): it gives no one anything they did not have.

Django's own race stays: a request that misses the cache, reads the row and writes it to the cache
just after another request ended that session puts it back in the cache (not in the database).
"""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore

from accounts.services import user_sessions_end
from hospital.cache_outage import CACHE_ERRORS, cache_failed

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    def load(self) -> dict:
        try:
            data = self._cache.get(self.cache_key)
        except CACHE_ERRORS as error:
            cache_failed(logger, "reading a session", error)
            return self._load_from_database(cache_too=False)
        except Exception:  # an entry that cannot be read back: a miss, and replaced
            data = None
        return self._load_from_database(cache_too=True) if data is None else data

    def _load_from_database(self, *, cache_too: bool) -> dict:
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        if cache_too:
            try:
                self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=row.expire_date))
            except CACHE_ERRORS as error:
                cache_failed(logger, "caching a session", error)
        return data

    def exists(self, session_key: str) -> bool:
        try:
            return super().exists(session_key)
        except CACHE_ERRORS as error:
            cache_failed(logger, "looking a session up", error)
            return DatabaseStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        DatabaseStore.save(self, must_create)
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except CACHE_ERRORS as error:
            cache_failed(logger, "caching a session", error)

    def delete(self, session_key: str | None = None) -> None:
        self._forget(session_key or self.session_key)

    def flush(self) -> None:
        user_id, session_hash = self.get(SESSION_KEY), self.get(HASH_SESSION_KEY)
        self.clear()
        if not self._forget(self.session_key) and user_id is not None:
            ended = user_sessions_end(user_id=user_id, session_hash=session_hash)
            logger.warning(
                "A session ended while the cache could not forget it: %s",
                "every session of its user ended with it" if ended else "it no longer signed anyone in",
                extra={"user_id": user_id},
            )
        self._session_key = None

    def _forget(self, session_key: str | None) -> bool:
        """Delete the session from the database, then from the cache: False when the cache may
        still hold it."""
        if session_key is None:
            return True
        DatabaseStore.delete(self, session_key)
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except CACHE_ERRORS as error:
            cache_failed(logger, "forgetting a session", error)
            return False
        return True

    # The async API (an ASGI server's alogout or aget_user) takes the same paths, not Django's.
    async def aload(self) -> dict:
        return await sync_to_async(self.load)()

    async def aexists(self, session_key: str) -> bool:
        return await sync_to_async(self.exists)(session_key)

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete)(session_key)

    async def aflush(self) -> None:
        await sync_to_async(self.flush)()
