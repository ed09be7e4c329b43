"""dj-stripe's synced records in our admin: readable, never added, changed or deleted.

dj-stripe registers some forty models with "Add" links and actions that write (resync from
Stripe, cancel a subscription). Its rows are Stripe's facts as synced; staff look them up but never
edit them here, and the webhook records are the audit trail of what Stripe sent us.
"""

from django.contrib import admin, messages
from djstripe.models import WebhookEventTrigger

from hospital.admin import ReadOnlyAdminMixin
from hospital.stripe_replay import webhook_trigger_replay

# Who may replay a failed webhook delivery: billing and administrators (accounts/staff_groups.py).
# The trigger rows themselves stay read-only; the permission only opens the action.
REPLAY_PERMISSION = "djstripe.change_webhookeventtrigger"


class StripeRecordAdmin(ReadOnlyAdminMixin):
    """Put in front of each of dj-stripe's model admins: view only, and no actions."""

    def get_actions(self, request):
        return {}

    def get_urls(self):
        # dj-stripe's confirm-action page runs its resync and cancel actions without asking the
        # model admin for any permission: drop the page itself, not only the links to it.
        return [url for url in super().get_urls() if url.name != "djstripe_custom_action"]


class WebhookTriggerReplayAdmin(StripeRecordAdmin):
    """Failed webhook deliveries, with our "Replay" action (each trigger in its own transaction)."""

    actions = ["replay"]

    def get_actions(self, request):
        return admin.ModelAdmin.get_actions(self, request)

    def has_replay_permission(self, request):
        return request.user.has_perm(REPLAY_PERMISSION)

    @admin.action(description="Replay the selected failed webhook deliveries", permissions=["replay"])
    def replay(self, request, queryset):
        for trigger_id in queryset.order_by("created", "pk").values_list("pk", flat=True):
            outcome = webhook_trigger_replay(trigger_id=trigger_id)
            level = messages.SUCCESS if outcome.replayed else messages.WARNING
            self.message_user(request, outcome.message, level)


# dj-stripe 2.11's Dispute cannot name a dispute in Stripe's "prevented" status (its list of
# statuses lacks it: __str__ raises KeyError, so its admin pages answer 500). Staff read disputes
# in our own Payments > Disputes, one row per Stripe dispute with every status.
HIDDEN_STRIPE_MODELS = {"dispute"}


def make_stripe_records_read_only(site: admin.AdminSite) -> None:
    for model, model_admin in list(site._registry.items()):
        if model._meta.app_label == "djstripe" and model._meta.model_name in HIDDEN_STRIPE_MODELS:
            site.unregister(model)
        elif model._meta.app_label == "djstripe":
            base = type(model_admin)
            front = WebhookTriggerReplayAdmin if model is WebhookEventTrigger else StripeRecordAdmin
            site.unregister(model)
            site.register(model, type(f"ReadOnly{base.__name__}", (front, base), {}))
