from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Django's name for the request header X-Djstripe-Webhook-Secret.
_FORGED_SECRET_HEADER = "HTTP_X_DJSTRIPE_WEBHOOK_SECRET"  # noqa: S105 (a header name)
_WEBHOOK_PATH_PREFIX = "/stripe/webhook/"


class StripeWebhookGuardMiddleware:
    """Shields dj-stripe's webhook view from two inputs it would otherwise trust.

    - With DEBUG on, dj-stripe verifies an event with the secret given in the
      X-Djstripe-Webhook-Secret header instead of the stored one, so anyone could forge events.
      The header is removed from every request, in every environment.
    - dj-stripe stores each request body before verifying it; an oversized body is refused here
      so nobody can fill the trigger table with junk.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.pop(_FORGED_SECRET_HEADER, None) is not None:
            # request.headers is built from META once and cached: an earlier middleware that read
            # it (the request id's) would otherwise keep the header visible to dj-stripe.
            request.__dict__.pop("headers", None)
        if request.path.startswith(_WEBHOOK_PATH_PREFIX):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = settings.STRIPE_WEBHOOK_MAX_BYTES + 1
            if length > settings.STRIPE_WEBHOOK_MAX_BYTES:
                return HttpResponse("Webhook body too large.", status=413, content_type="text/plain")
        return self.get_response(request)
