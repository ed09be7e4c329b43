"""The database's own rule on refunds: never more back than the payment captured.

`payments.selectors.refundable_amount` is the same rule in Python, and the services check it first
(with a message for staff); these triggers make a raw query, a race between two staff members or
a bug in another path fail too. Only our refunds (reason <> 'stripe') are held to it: a refund
made in Stripe's Dashboard is a fact Stripe already allowed, and we must record it whatever it is.

The sum is over the refunds of the payment's own payment intent that have not failed or been
canceled (ours still waiting to be issued included), exactly as `refundable_amount` counts. A
refund of a duplicate payment gives back another charge, whose amount we do not hold, so it is
left to Stripe, which refuses more than a charge has.

An update is held to it only when it adds to the sum: a refund that did not go through counting
again, a larger amount, or a move to another payment. Stripe's answer to one of ours (requested,
then pending, then succeeded) adds nothing, so it is never refused: refusing a fact would leave
the worker retrying forever.

On PostgreSQL the trigger first locks the payment row, so two transactions refunding one payment
at once are counted one after the other (the second sees the first's row once it commits); our
services already hold that lock (payments.locks.lock_payment), so for them it is free. SQLite
lets one writer in at a time. Installed after every migrate (post_migrate), like
appointments/note_guards.py, so test databases built without migrations have it too.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

from payments.models import Refund, RefundReason

# In the database's error message, so a service can tell this refusal from a unique constraint's.
OVER_REFUND = "refund exceeds what the payment has left to refund"

# Refunds that did not go through gave the money back to the payment: they do not count.
_NOT_COUNTED = "(" + ", ".join(f"'{status.value}'" for status in Refund.DID_NOT_GO_THROUGH_STATUSES) + ")"

# The SQL below is built from the constants above (our own code, never input): hence the noqa.
_PG = f"""
CREATE OR REPLACE FUNCTION payments_refund_within_captured() RETURNS trigger AS $$
DECLARE
    captured integer;
    others bigint;
BEGIN
    IF NEW.reason = '{RefundReason.STRIPE.value}' OR NEW.status IN {_NOT_COUNTED} OR NEW.payment_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.amount <= OLD.amount AND OLD.status NOT IN {_NOT_COUNTED}
            AND NEW.payment_intent_id = OLD.payment_intent_id AND NEW.payment_id = OLD.payment_id THEN
        RETURN NEW;  -- counted before, for no more: Stripe's answer to one of ours (requested -> succeeded)
    END IF;
    SELECT captured_amount INTO captured FROM payments_payment
        WHERE id = NEW.payment_id AND payment_intent_id = NEW.payment_intent_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NEW;  -- a duplicate payment's charge: Stripe holds that rule
    END IF;
    SELECT COALESCE(SUM(amount), 0) INTO others FROM payments_refund
        WHERE payment_intent_id = NEW.payment_intent_id AND status NOT IN {_NOT_COUNTED}
          AND (TG_OP = 'INSERT' OR id <> NEW.id);
    IF others + NEW.amount > captured THEN
        RAISE EXCEPTION '{OVER_REFUND}: % + % > %', others, NEW.amount, captured
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER payments_refund_within_captured
    BEFORE INSERT OR UPDATE OF amount, status, payment_intent_id, payment_id ON payments_refund
    FOR EACH ROW EXECUTE FUNCTION payments_refund_within_captured();
"""  # noqa: S608


def _sqlite_trigger(name: str, event: str, changed: str, other_rows: str) -> str:
    return f"""
CREATE TRIGGER IF NOT EXISTS {name}
BEFORE {event} ON payments_refund FOR EACH ROW
WHEN NEW.reason <> '{RefundReason.STRIPE.value}' AND NEW.status NOT IN {_NOT_COUNTED} AND ({changed})
  AND EXISTS (
    SELECT 1 FROM payments_payment AS p
    WHERE p.id = NEW.payment_id AND p.payment_intent_id = NEW.payment_intent_id
      AND NEW.amount + COALESCE((
        SELECT SUM(r.amount) FROM payments_refund AS r
        WHERE r.payment_intent_id = NEW.payment_intent_id AND r.status NOT IN {_NOT_COUNTED} AND {other_rows}
      ), 0) > p.captured_amount
  )
BEGIN SELECT RAISE(ABORT, '{OVER_REFUND}'); END
"""  # noqa: S608


_SQLITE = [
    _sqlite_trigger("payments_refund_within_captured_insert", "INSERT", "1", "1"),
    _sqlite_trigger(
        "payments_refund_within_captured_update",
        "UPDATE OF amount, status, payment_intent_id, payment_id",
        f"NEW.amount > OLD.amount OR OLD.status IN {_NOT_COUNTED}"
        " OR NEW.payment_intent_id <> OLD.payment_intent_id OR NEW.payment_id IS NOT OLD.payment_id",
        "r.id <> NEW.id",
    ),
]


def install_refund_triggers(*, using: str = DEFAULT_DB_ALIAS, **_kwargs) -> None:
    connection = connections[using]
    statements = {"postgresql": [_PG], "sqlite": _SQLITE}.get(connection.vendor, [])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
