"""One log line for every change of an appointment's or a payment's money state.

Appointments, payments, refunds, disputes and Checkout sessions each call `log_money_change`
where their status moves, in the transaction that moves it. The line is written when that
transaction commits (at once outside one), and not at all when it rolls back: a line says the
money moved only if the database says so too. The line's fields name the objects and their Stripe
ids, so an operator finds every step of one booking with a single search (appointment_id,
payment_intent_id, ...); the webhook receivers bind the Stripe event's id around their work, so a
change an event caused names it too. The request id and those bound fields are taken when the
change is made, since the commit may come after the block that bound them (dj-stripe commits its
webhook transaction after our receivers return).
"""

from __future__ import annotations

import logging

from django.db import transaction

from hospital.log_context import current_context

logger = logging.getLogger("money")


def log_money_change(subject: str, object_id: object, *, old: str, new: str, **ids: object) -> None:
    """INFO "<subject> <id>: <old> -> <new>" with fields change, old_status, new_status and the
    non-empty `ids`, once the current transaction commits; nothing when the status did not move.
    `old` is "" for a row just created."""
    if old == new:
        return
    known = {name: value for name, value in ids.items() if value not in (None, "")}
    fields = {
        **current_context(),
        "change": subject,
        f"{subject}_id": object_id,
        "old_status": old,
        "new_status": new,
        **known,
    }
    message = ("%s %s: %s -> %s", subject, object_id, old or "(new)", new)
    # robust: a line that cannot be written must not fail the callbacks after it.
    transaction.on_commit(lambda: logger.info(*message, extra=fields), robust=True)
