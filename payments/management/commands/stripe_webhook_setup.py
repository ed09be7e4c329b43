import stripe
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.webhooks import stripe_api_key_ensure, webhook_endpoint_ensure


class Command(BaseCommand):
    help = (
        "Create or update the dj-stripe WebhookEndpoint row from STRIPE_WEBHOOK_SECRET and "
        "STRIPE_WEBHOOK_UUID, so events posted to /stripe/webhook/<uuid>/ are verified, and link "
        "the API key to its Stripe account."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="The site's public base URL.")

    def handle(self, *args, base_url, **options):
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise CommandError("STRIPE_WEBHOOK_SECRET is empty: set it (e.g. the whsec_… that `stripe listen` prints).")
        endpoint = webhook_endpoint_ensure(base_url=base_url)
        self.stdout.write(f"Webhook endpoint ready: {endpoint.url}")
        if settings.STRIPE_SECRET_KEY:
            try:
                key = stripe_api_key_ensure()
            except stripe.StripeError as exc:
                self.stderr.write(f"Stripe account not linked ({exc}); dj-stripe will look it up on the first event.")
            else:
                self.stdout.write(f"Stripe account: {key.djstripe_owner_account_id}")
