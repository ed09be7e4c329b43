"""The project's URLs plus the bare views bench/run.py measures our pages and POSTs against.

- `bench/bare/`: a view that does nothing, behind the full middleware stack.
- `bench/floor/`: the floor a real page can reach: 20 rows from 2 queries, through base.html.
- `bench/bare/checkout/1/`: the one Stripe call a booking makes for a patient who already has a
  Stripe Customer (Checkout Session create, the booking's parameters), answered 303 to the session.
- `bench/bare/checkout/2/`: the two calls of a first booking: Customer create, then the session.
Both go through the project's Stripe wrapper (payments/stripe_api.py) to the same stand-in, with
the POST's CSRF check, and touch no table: what is left of a booking is the part we do not own.
"""

import datetime as dt
import secrets

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from hospital.urls import urlpatterns as project_urlpatterns
from payments import stripe_api
from payments.stripe_objects import METADATA_APPOINTMENT, METADATA_PAYMENT


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


def floor(request):
    from hospital.models import Doctor, Slot

    context = {
        "doctor_count": Doctor.objects.count(),
        "slots": Slot.objects.order_by("pk").values("pk", "starts_at")[:20],
    }
    return render(request, "bench/floor.html", context)


def checkout_params(*, customer: str, site_url: str) -> dict:
    """The shape payments.services.checkout gives a session: one priced line, expiry, metadata, URLs."""
    expires_at = timezone.now() + dt.timedelta(minutes=35)
    ids = {METADATA_APPOINTMENT: "0", METADATA_PAYMENT: "0"}
    return {
        "mode": "payment",
        "payment_method_types": ["card"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 5000,
                    "product_data": {
                        "name": "Consultation with Dr Bench",
                        "description": f"{expires_at:%A %d %B %Y, %H:%M} UTC (UTC)",
                    },
                },
            }
        ],
        "expires_at": int(expires_at.timestamp()),
        "client_reference_id": "0",
        "metadata": ids,
        "payment_intent_data": {"metadata": ids},
        "success_url": f"{site_url}/bench/bare/?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{site_url}/bench/bare/",
        "customer": customer,
    }


@require_POST
def bare_checkout(request, calls: int):
    if calls == 2:
        email = f"bare-{secrets.token_hex(6)}@bench.test"
        customer = stripe_api.customer_create(
            email=email, name="Bare Bench", metadata={}, idempotency_key=f"customer-{secrets.token_urlsafe(24)}"
        )["id"]
    elif calls == 1 and request.POST.get("customer"):
        customer = request.POST["customer"]
    else:
        return HttpResponseBadRequest("calls is 1 (with a customer) or 2")
    site_url = request.build_absolute_uri("/").rstrip("/")
    session = stripe_api.checkout_session_create(
        params=checkout_params(customer=customer, site_url=site_url),
        idempotency_key=f"checkout-{secrets.token_urlsafe(24)}",
    )
    return HttpResponse(status=303, headers={"Location": session["url"]})


urlpatterns = [
    *project_urlpatterns,
    path("bench/bare/", bare, name="bench_bare"),
    path("bench/floor/", floor, name="bench_floor"),
    path("bench/bare/checkout/<int:calls>/", bare_checkout, name="bench_bare_checkout"),
]
