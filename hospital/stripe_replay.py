"""Replaying a Stripe webhook delivery that failed: dj-stripe's own processing of the stored body,
again, once the cause is fixed (a bug deployed, the database back).

dj-stripe 2.11's trigger admin has a `reprocess` method but offers it as no action, and it would
run every selected trigger in one go: one failure would leave the others half-done or roll them
back together. Here each trigger is replayed in its own transaction: a failing one leaves nothing
of its processing behind (only its new error, on the trigger, for staff) and the others stand.
The event's receivers run as on first delivery, so their e-mails and refunds stay once per fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from traceback import format_exc

from django.db import transaction
from djstripe.models import WebhookEventTrigger
from djstripe.settings import djstripe_settings


@dataclass(frozen=True)
class ReplayOutcome:
    trigger_id: int
    replayed: bool
    message: str


def webhook_trigger_replay(*, trigger_id: int) -> ReplayOutcome:
    trigger = WebhookEventTrigger.objects.select_related("stripe_trigger_account", "webhook_endpoint").get(
        pk=trigger_id
    )
    event_id = trigger.json_body.get("id") or "(no event id)"
    if not trigger.valid:
        return ReplayOutcome(trigger_id, False, f"Trigger #{trigger_id} ({event_id}) was not validly signed: skipped.")
    if trigger.processed:
        return ReplayOutcome(trigger_id, False, f"Trigger #{trigger_id} ({event_id}) was already processed: skipped.")
    try:
        with transaction.atomic():
            trigger.process(save=True, api_key=_api_key(trigger))
    except Exception as exc:  # any failure: reported to staff, kept on the trigger, the rest go on
        max_length = WebhookEventTrigger._meta.get_field("exception").max_length
        WebhookEventTrigger.objects.filter(pk=trigger_id).update(
            exception=str(exc)[:max_length], traceback=format_exc()
        )
        return ReplayOutcome(trigger_id, False, f"Trigger #{trigger_id} ({event_id}) failed again: {exc}")
    return ReplayOutcome(trigger_id, True, f"Trigger #{trigger_id} ({event_id}) replayed.")


def _api_key(trigger: WebhookEventTrigger) -> str:
    """The key dj-stripe's own webhook view would use for this trigger."""
    account = trigger.stripe_trigger_account
    livemode = bool(trigger.json_body.get("livemode"))
    return (account.default_api_key if account else None) or djstripe_settings.get_default_api_key(livemode)
