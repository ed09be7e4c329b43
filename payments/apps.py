from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from django.db.models import OuterRef, Subquery

        from appointments import payment_deadline
        from hospital import outbox
        from payments import checks, receivers, services, stripe_api, tasks  # noqa: F401  (they register on import)
        from payments.models import CheckoutAttempt, Refund

        stripe_api.configure()
        outbox.register(model=Refund, pending=services.REFUND_PENDING_WORK, enqueue=tasks.refund_issue.enqueue)
        # Pages promise the latest Checkout session's expiry, never the hold's grace beyond it.
        payment_deadline.register(
            expression=lambda: Subquery(
                CheckoutAttempt.objects.filter(payment__appointment=OuterRef("pk"))
                .order_by("-created_at", "-pk")
                .values("expires_at")[:1]
            )
        )
