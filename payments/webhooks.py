from django.conf import settings
from django.db import transaction
from django.urls import reverse
from djstripe.enums import WebhookEndpointStatus
from djstripe.models import APIKey, WebhookEndpoint

from payments.receivers import HANDLED_EVENTS


def webhook_url_path() -> str:
    return reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": settings.STRIPE_WEBHOOK_UUID})


@transaction.atomic
def webhook_endpoint_ensure(*, base_url: str) -> WebhookEndpoint:
    """The WebhookEndpoint row dj-stripe verifies events with, from settings. Idempotent."""
    url = base_url.rstrip("/") + webhook_url_path()
    endpoint, _ = WebhookEndpoint.objects.update_or_create(
        djstripe_uuid=settings.STRIPE_WEBHOOK_UUID,
        defaults={
            "id": f"we_local_{settings.STRIPE_WEBHOOK_UUID.replace('-', '')[:24]}",
            "livemode": settings.STRIPE_LIVE_MODE,
            "secret": settings.STRIPE_WEBHOOK_SECRET,
            "url": url,
            "enabled_events": HANDLED_EVENTS,
            "status": WebhookEndpointStatus.enabled,
            "api_version": "",
        },
    )
    return endpoint


def stripe_api_key_ensure() -> APIKey:
    """dj-stripe's APIKey row for our key, linked to its Account. Without it dj-stripe asks Stripe
    for the account (GET /v1/account) while processing webhooks. Makes one Stripe call, so it is
    run from the setup command, never inside a transaction of ours."""
    key, _ = APIKey.objects.get_or_create_by_api_key(settings.STRIPE_SECRET_KEY)
    if key.djstripe_owner_account_id is None:
        key.refresh_account()
    return key
