"""One log line for every change of an appointment's or a payment's money state.

Appointments, payments, refunds, disputes and Checkout sessions each call `log_money_change`
where their status moves, in the transaction that moves it (a log line is no network call). The
line's fields name the objects and their Stripe ids, so an operator finds every step of one
booking with a single search (appointment_id, payment_intent_id, ...); the webhook receivers bind
the Stripe event's id around their work, so a change an event caused names it too.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("money")


def log_money_change(subject: str, object_id: object, *, old: str, new: str, **ids: object) -> None:
    """INFO "<subject> <id>: <old> -> <new>" with fields change, old_status, new_status and the
    non-empty `ids`; nothing when the status did not move. `old` is "" for a row just created."""
    if old == new:
        return
    known = {name: value for name, value in ids.items() if value not in (None, "")}
    logger.info(
        "%s %s: %s -> %s",
        subject,
        object_id,
        old or "(new)",
        new,
        extra={"change": subject, f"{subject}_id": object_id, "old_status": old, "new_status": new, **known},
    )
