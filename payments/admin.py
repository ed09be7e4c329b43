from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from djstripe.models import Charge, PaymentIntent
from djstripe.models import Session as CheckoutSession

from hospital.admin import ReadOnlyAdminMixin, titled
from hospital.admin_site import AdminPage
from hospital.money import format_money
from payments.dashboard_views import money_dashboard_view
from payments.models import (
    ChargeRefundsSync,
    CheckoutAttempt,
    Dispute,
    Payment,
    Refund,
    RefundFollowUp,
    StripeCustomer,
    UnusableEvent,
)
from payments.services import refunds_retry_now, refunds_settle


class AmountAsMoneyMixin:
    """Staff read an amount as money ($25.50), never as the minor units stored (2550)."""

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj):
        return format_money(obj.amount, obj.currency)


class CheckoutAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CheckoutAttempt
    fields = ["created_at", "status", "session_id", "expires_at"]
    readonly_fields = fields
    extra = 0


class RefundInline(AmountAsMoneyMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    fields = [
        "created_at", "amount_display", "status", "reason", "stripe_refund_id", "failure_reason", "follow_up",
        "attempts",
    ]  # fmt: skip
    readonly_fields = fields
    extra = 0


class DisputeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Dispute
    fields = ["created_at", "stripe_dispute_id", "amount_display", "status", "reason", "updated_at"]
    readonly_fields = fields
    extra = 0

    @admin.display(description="Amount")
    def amount_display(self, dispute):
        return format_money(dispute.amount, dispute.currency)


@admin.register(Payment)
class PaymentAdmin(AmountAsMoneyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Money facts as Stripe reported them; the status is derived from them, never edited."""

    list_display = ["pk", "appointment", "patient", "amount_display", "status", "counts_as_paid", "paid_at"]
    list_filter = [("status", titled("payment status")), "currency", "dispute_status"]
    search_fields = ["payment_intent_id", "appointment__patient__email", "checkout_attempts__session_id"]
    list_select_related = ["appointment__patient"]
    fields = [
        "appointment", "amount_display", "status", "captured_display", "dispute_status", "last_failure_reason",
        "last_failure_detail", "payment_intent_id", "stripe_objects", "paid_at", "created_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = fields
    inlines = [CheckoutAttemptInline, RefundInline, DisputeInline]

    @admin.display(description="Synced Stripe objects")
    def stripe_objects(self, payment):
        """Links to what dj-stripe has synced for this payment (its own admin pages)."""
        session_ids = payment.checkout_attempts.exclude(session_id=None).values_list("session_id", flat=True)
        synced = [
            *CheckoutSession.objects.filter(id__in=list(session_ids)),
        ]
        if payment.payment_intent_id:
            synced += [
                *PaymentIntent.objects.filter(id=payment.payment_intent_id),
                *Charge.objects.filter(payment_intent__id=payment.payment_intent_id),
            ]
        if not synced:
            return "None synced yet"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a>',
            (
                (reverse(f"admin:djstripe_{obj._meta.model_name}_change", args=[obj.djstripe_id]), obj.id)
                for obj in synced
            ),
        )

    @admin.display(description="Captured")
    def captured_display(self, payment):
        return format_money(payment.captured_amount, payment.currency)

    @admin.display(description="Counts as paid", boolean=True)
    def counts_as_paid(self, payment):
        return payment.is_paid

    @admin.display(description="Patient", ordering="appointment__patient__email")
    def patient(self, payment):
        return payment.appointment.patient


@admin.register(Refund)
class RefundAdmin(AmountAsMoneyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Refunds, ours and Stripe's. Those the bank returned and that a person must settle with the
    patient are flagged "Needs action" (filter: follow-up "needs staff")."""

    list_display = [
        "pk", "payment", "amount_display", "status", "reason", "needs_action", "attempts", "next_attempt_at",
        "created_at",
    ]  # fmt: skip
    list_filter = [("follow_up", titled("follow-up")), ("status", titled("refund status")), "reason"]
    search_fields = ["stripe_refund_id", "payment__payment_intent_id", "payment__appointment__patient__email"]
    readonly_fields = [
        "payment", "payment_intent_id", "amount_display", "status", "reason", "follow_up", "reissue_of",
        "stripe_refund_id", "idempotency_key", "failure_reason", "attempts", "next_attempt_at", "claimed_until",
        "last_error", "created_at", "updated_at",
    ]  # fmt: skip
    fields = readonly_fields
    actions = ["retry_now", "mark_settled"]

    @admin.display(description="Needs action", boolean=True, ordering="follow_up")
    def needs_action(self, refund):
        return refund.follow_up == RefundFollowUp.NEEDS_STAFF

    @admin.action(description="Mark the selected returned refunds as settled with the patient")
    def mark_settled(self, request, queryset):
        settled, skipped = refunds_settle(refund_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{settled} refund(s) marked as settled with the patient.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} refund(s) were not waiting for staff and were left alone.")

    @admin.action(description="Retry the selected requested refunds now")
    def retry_now(self, request, queryset):
        queued, skipped = refunds_retry_now(refund_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Queued {queued} refund(s) for another attempt.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} refund(s) were not waiting to be issued and were left alone.", messages.WARNING
            )


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["stripe_customer_id", "user", "livemode", "created_at"]
    search_fields = ["stripe_customer_id", "user__email"]
    readonly_fields = ["user", "livemode", "stripe_customer_id", "created_at"]


# Not a model's list: the admin's index links it under "Reports" for whoever may view payments.
admin.site.register_page(
    AdminPage(
        route="payments/dashboard/",
        name="payments_dashboard",
        title="Money dashboard",
        permission="payments.view_payment",
        view=money_dashboard_view,
    )
)


@admin.register(Dispute)
class DisputeAdmin(AmountAsMoneyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every dispute Stripe told us about; those on no payment of ours say why in their note."""

    list_display = ["stripe_dispute_id", "payment", "amount_display", "status", "reason", "note", "updated_at"]
    list_filter = ["status", ("payment", admin.EmptyFieldListFilter)]
    search_fields = ["stripe_dispute_id", "charge_id", "payment_intent_id", "payment__appointment__patient__email"]
    fields = [
        "stripe_dispute_id", "payment", "charge_id", "payment_intent_id", "amount_display", "status", "reason", "note",
        "created_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = fields


@admin.register(UnusableEvent)
class UnusableEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Signed events we acknowledged without acting on them, and why; dj-stripe's webhook records
    hold their full bodies."""

    list_display = ["received_at", "event_type", "event_id", "object_id", "reason"]
    list_filter = ["event_type"]
    search_fields = ["event_id", "object_id", "reason"]
    fields = ["event_id", "event_type", "object_id", "reason", "received_at"]
    readonly_fields = fields


@admin.register(ChargeRefundsSync)
class ChargeRefundsSyncAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Payment intents whose refunds a charge.refunded event asked us to list at Stripe, and
    whether the worker has (a rejected listing also e-mails staff)."""

    list_display = ["payment_intent_id", "status", "requested_at", "attempts", "next_attempt_at"]
    list_filter = [("status", titled("listing status"))]
    search_fields = ["payment_intent_id"]
    fields = [
        "payment_intent_id", "status", "requested_at", "attempts", "next_attempt_at", "claimed_until", "last_error",
        "created_at",
    ]  # fmt: skip
    readonly_fields = fields
