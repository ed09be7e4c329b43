"""Receipts and credit notes: gapless numbers per year, and issuing them from a payment's facts.

A number comes from the year's DocumentCounter row, locked in the caller's transaction (never a
database sequence, which keeps a number a rolled-back transaction took: a gap). Everything here
runs inside the transaction that recorded the fact, with the payment locked (payments.locks), and
takes the counter last of all (hospital/locks.py), the receipt's before a credit note's.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from hospital import timefmt
from hospital.locks import lock_one
from payments.models import CreditNote, DocumentCounter, Payment, Receipt, RefundStatus


def document_number_take(*, prefix: str, now: dt.datetime) -> tuple[int, int]:
    """(year, number): the next number of `prefix` in the hospital's year at `now`.

    The counter row stays locked until the caller's transaction ends, so two issuers never take
    one number, and a rollback gives it back. A year's first use makes its row: an insert that
    ignores a conflict, then the lock, so two first issues of a year at once both find one row
    (the second insert waits for the first to commit, then ignores it)."""
    year = timefmt.local(now, settings.HOSPITAL_TIME_ZONE).year
    DocumentCounter.objects.bulk_create([DocumentCounter(prefix=prefix, year=year)], ignore_conflicts=True)
    counter = lock_one(DocumentCounter.objects.all(), prefix=prefix, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return year, counter.last_number


def payment_documents_issue(*, payment: Payment, now: dt.datetime) -> None:
    """The receipt of the money the (locked) payment captured, and a credit note for each of its
    refunds that went through and has none yet. Idempotent: a redelivered event, or the success
    page after the webhook, finds them issued (the one-to-one fields would refuse a second)."""
    receipt = receipt_issue(payment=payment, now=now)
    if receipt is not None:
        credit_notes_issue(payment=payment, now=now)


def receipt_issue(*, payment: Payment, now: dt.datetime) -> Receipt | None:
    """The payment's receipt, issued now if it captured money and has none; None while nothing
    is captured."""
    if not payment.captured_amount:
        return None
    receipt = Receipt.objects.filter(payment=payment).first() or _numbered(
        Receipt, now=now, payment=payment, amount=payment.captured_amount, currency=payment.currency
    )
    payment.receipt = receipt
    return receipt


def credit_notes_issue(*, payment: Payment, now: dt.datetime) -> list[CreditNote]:
    """A credit note for each refund of the payment's own charge that succeeded and has none.

    A refund of a duplicate payment gives back money this receipt never counted, so it gets
    none. A credit note is never withdrawn: if the bank later returns its refund, the note keeps
    its number (no gap) and its pages say it was voided by that return; a re-issued refund that
    goes through gets a credit note of its own."""
    refunds = payment.refunds.filter(
        status=RefundStatus.SUCCEEDED, payment_intent_id=payment.payment_intent_id, credit_note__isnull=True
    ).order_by("created_at", "pk")
    return [
        _numbered(CreditNote, now=now, refund=refund, payment=payment, amount=refund.amount, currency=refund.currency)
        for refund in refunds
    ]


def _numbered(model: type[Receipt | CreditNote], *, now: dt.datetime, **fields) -> Receipt | CreditNote:
    year, number = document_number_take(prefix=model.PREFIX, now=now)
    return model.objects.create(year=year, number=number, issued_at=now, **fields)
