"""The worker that issues our requested refunds at Stripe, outside any transaction, and retries."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from hospital import outbox
from payments import stripe_api
from payments.locks import lock_payment
from payments.models import Refund
from payments.services.common import IDEMPOTENCY_KEY_LIFETIME, new_key
from payments.services.reconcile import reconcile
from payments.services.refunds import REFUND_PENDING_WORK, refund_record_locked, refund_rejected
from payments.stripe_api import StripeRejected, StripeUnavailable
from payments.stripe_objects import METADATA_PAYMENT, METADATA_REFUND, metadata_names


def refund_issue(*, refund_id: int, now: dt.datetime | None = None) -> None:
    """Worker: issue one requested refund at Stripe, outside any transaction."""
    now = now or timezone.now()
    refund = outbox.claim(Refund, REFUND_PENDING_WORK, refund_id, now=now)
    if refund is None:
        return
    try:
        # A retry first looks for a refund an earlier attempt may have made (our id is in its
        # metadata): the earlier call may have succeeded at Stripe without us hearing back.
        stripe_refund = _refund_made_earlier(refund) if refund.attempts > 1 else None
        if stripe_refund is None:
            if now - refund.created_at > IDEMPOTENCY_KEY_LIFETIME:
                _refund_rotate_key(refund)  # Stripe has forgotten the old key after 24 hours
            stripe_refund = _refund_create(refund)
    except StripeUnavailable as exc:
        if exc.server_error:
            _refund_rotate_key(refund)  # a stored 5xx would be replayed for this key
        outbox.release_for_retry(refund, str(exc), now=now)
        raise
    except StripeRejected as exc:
        refund_rejected(refund, str(exc), now=now)
        return
    with transaction.atomic():
        appointment, payment = lock_payment(refund.payment.appointment_id)
        refund_record_locked(payment, stripe_refund, now=now)
        Refund.objects.filter(pk=refund.pk).update(claimed_until=None, last_error="")
        reconcile(appointment, payment, now=now)


def _refund_create(refund: Refund) -> dict:
    return stripe_api.refund_create(
        payment_intent=refund.payment_intent_id,
        amount=refund.amount,
        metadata={METADATA_REFUND: str(refund.pk), METADATA_PAYMENT: str(refund.payment_id)},
        idempotency_key=refund.idempotency_key,
    )


def _refund_made_earlier(refund: Refund) -> dict | None:
    for candidate in stripe_api.refunds_for_payment_intent(refund.payment_intent_id):
        if metadata_names(candidate, METADATA_REFUND, refund.pk):
            return candidate
    return None


def _refund_rotate_key(refund: Refund) -> None:
    refund.idempotency_key = new_key("refund")
    Refund.objects.filter(pk=refund.pk).update(idempotency_key=refund.idempotency_key)
