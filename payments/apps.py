from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from django.db.models.signals import post_migrate

        from appointments import payment_facts
        from hospital import notifications, outbox
        from payments import (  # noqa: F401  (they register on import)
            checks,
            email_previews,
            receipt_documents,
            receivers,
            refund_guards,
            selectors,
            services,
            stripe_api,
            tasks,
        )
        from payments.models import RECEIPT_ATTACHMENT, ChargeRefundsSync, Refund, SessionClosing

        stripe_api.configure()
        post_migrate.connect(refund_guards.install_refund_triggers, sender=self)
        notifications.register_attachment_renderer(
            kind=RECEIPT_ATTACHMENT, mimetype="application/pdf", render=receipt_documents.receipt_pdf
        )
        email_previews.register()
        outbox.register(model=Refund, pending=services.REFUND_PENDING_WORK, task=tasks.refund_issue)
        outbox.register(
            model=ChargeRefundsSync,
            pending=services.CHARGE_REFUNDS_SYNC_PENDING,
            task=tasks.charge_refunds_sync,
        )
        outbox.register(model=SessionClosing, pending=services.SESSION_CLOSE_PENDING, task=tasks.checkout_session_close)
        # Pages promise the latest Checkout session's expiry, never the hold's grace beyond it;
        # starting a visit, prescribing and reviewing ask whether it counts as paid.
        payment_facts.register(
            checkout_expiry=selectors.latest_checkout_expiry, is_paid=selectors.appointments_paid_filter
        )
