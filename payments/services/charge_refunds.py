"""The worker that lists a payment intent's refunds at Stripe after a charge event asked for it
(payments.models.ChargeRefundsSync), outside any transaction, and records each one as a fact."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hospital import outbox
from payments import stripe_api
from payments.models import ChargeRefundsSync, ChargeRefundsSyncStatus
from payments.services.common import tell_staff
from payments.services.facts import refund_record
from payments.stripe_api import StripeRejected, StripeUnavailable
from payments.stripe_objects import UnusableStripeObject

logger = logging.getLogger(__name__)
CHARGE_REFUNDS_SYNC_PENDING = Q(status=ChargeRefundsSyncStatus.PENDING)


def charge_refunds_sync(*, sync_id: int, now: dt.datetime | None = None) -> None:
    """Worker: list the intent's refunds at Stripe and record each (refund_record checks it and
    takes the locks in their order, in its own transaction)."""
    now = now or timezone.now()
    sync = outbox.claim(ChargeRefundsSync, CHARGE_REFUNDS_SYNC_PENDING, sync_id, now=now)
    if sync is None:
        return
    try:
        refunds = stripe_api.refunds_for_payment_intent(sync.payment_intent_id)
    except StripeUnavailable as exc:
        outbox.release_for_retry(sync, str(exc), now=now)
        raise
    except StripeRejected as exc:
        _sync_failed(sync, f"Stripe refused to list the refunds: {exc}")
        return
    unusable = []
    for refund in refunds:
        try:
            refund_record(refund=refund, now=now)
        except UnusableStripeObject as exc:
            unusable.append(exc.reason)  # the others are still worth recording
    if unusable:
        _sync_failed(sync, " ".join(unusable))
        return
    done = ChargeRefundsSync.objects.filter(pk=sync.pk, requested_at=sync.requested_at).update(
        status=ChargeRefundsSyncStatus.DONE, claimed_until=None, last_error=""
    )
    if not done:
        # A newer charge event asked again while we listed; its task found the row claimed.
        ChargeRefundsSync.objects.filter(pk=sync.pk).update(claimed_until=None)
        outbox.enqueue(sync)


def _sync_failed(sync: ChargeRefundsSync, error: str) -> None:
    """Retrying cannot help (Stripe said no, or listed refunds we cannot use): a person looks,
    told in the transaction that marks it failed so nobody misses it."""
    with transaction.atomic():
        ChargeRefundsSync.objects.filter(pk=sync.pk).update(
            status=ChargeRefundsSyncStatus.FAILED, claimed_until=None, last_error=error[:2000]
        )
        tell_staff(
            key=f"charge-refunds-failed:{sync.pk}:{sync.requested_at.isoformat()}",
            subject=f"The refunds of payment intent {sync.payment_intent_id} could not be recorded",
            template="payments/email/charge_refunds_failed.txt",
            context={"sync": sync, "error": error},
        )
    logger.error("Listing the refunds of %s failed: %s", sync.payment_intent_id, error)
