import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from djstripe.models import Charge, PaymentIntent
from djstripe.models import Session as CheckoutSession

from hospital.admin import FormForOneAction, ReadOnlyAdminMixin, titled
from hospital.admin_site import AdminPage
from hospital.money import format_money
from payments.dashboard_views import money_dashboard_view
from payments.forms import RefundForm, refund_requested_message
from payments.models import (
    POLICY_TERM_FIELDS,
    REFUND_PERMISSION,
    CancellationPolicy,
    ChargeRefundsSync,
    CheckoutAttempt,
    CreditNote,
    Dispute,
    Payment,
    Receipt,
    Refund,
    RefundFollowUp,
    StripeCustomer,
    UnusableEvent,
)
from payments.selectors import hospital_time, refundable_amount
from payments.services import RefundRefused, payment_refund, refunds_retry_now, refunds_settle


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


class DisputeFactsMixin:
    """A dispute's reason in words and Stripe's deadline for evidence on the hospital's clock."""

    @admin.display(description="Reason", ordering="reason")
    def reason_display(self, dispute):
        return dispute.reason_words

    @admin.display(description="Evidence due by", ordering="evidence_due_by")
    def evidence_due_display(self, dispute):
        return hospital_time(dispute.evidence_due_by) if dispute.evidence_due_by else "—"


class DisputeInline(DisputeFactsMixin, AmountAsMoneyMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = Dispute
    fields = [
        "created_at", "stripe_dispute_id", "amount_display", "status", "reason_display", "evidence_due_display",
        "updated_at",
    ]  # fmt: skip
    readonly_fields = fields
    extra = 0


@admin.register(Payment)
class PaymentAdmin(FormForOneAction, AmountAsMoneyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Money facts as Stripe reported them; the status is derived from them, never edited."""

    list_display = [
        "pk", "appointment", "patient", "doctor", "visit_date", "amount_display", "status", "counts_as_paid",
        "paid_at",
    ]  # fmt: skip
    list_filter = [
        ("status", titled("payment status")),
        ("appointment__doctor", titled("doctor", admin.RelatedFieldListFilter)),
        ("appointment__slot__starts_at", titled("visit date", admin.DateFieldListFilter)),
        ("paid_at", titled("payment date", admin.DateFieldListFilter)),
        "currency",
        "dispute_status",
    ]
    # Patient by e-mail or name, the booking by its number (#123 or 123), Stripe's ids. No
    # search_help_text: Django's search box then names itself by aria-describedby alone, which axe
    # refuses (label-title-only).
    search_fields = [
        "payment_intent_id", "appointment__patient__email", "appointment__patient__first_name",
        "appointment__patient__last_name", "=appointment__id", "checkout_attempts__session_id",
    ]  # fmt: skip
    list_select_related = ["appointment__patient", "appointment__doctor__user", "appointment__slot"]
    fields = [
        "appointment", "amount_display", "status", "captured_display", "refundable_display", "dispute_status",
        "last_failure_reason", "last_failure_detail", "payment_intent_id", "stripe_objects", "paid_at",
        "created_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = fields
    inlines = [CheckoutAttemptInline, RefundInline, DisputeInline]
    actions = ["refund"]

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, search_term.strip().removeprefix("#"))

    def has_refund_permission(self, request):
        return request.user.has_perm(REFUND_PERMISSION)

    def get_urls(self):
        return [self.form_url("refund", self.refund_view), *super().get_urls()]

    @admin.action(description="Refund…", permissions=["refund"])
    def refund(self, request, queryset):
        """Opens the refund form for one payment: an amount and a reason are asked for each."""
        return self.form_for_one(
            request, queryset, suffix="refund", one_at_a_time="Refund one payment at a time: select exactly one."
        )

    def refund_view(self, request, object_id):
        """The refund form: an amount in the currency's major units and a reason. A refusal (too
        much, bad decimals, no reason) changes nothing and says why beside the field."""
        if not self.has_refund_permission(request):
            raise PermissionDenied
        payment = self.get_object(request, object_id)
        if payment is None:
            raise Http404("No such payment.")
        left = refundable_amount(payment)
        form = RefundForm(request.POST or None, currency=payment.currency, refundable=left)
        if request.method == "POST" and form.is_valid():
            try:
                refund = payment_refund(
                    payment_id=payment.pk,
                    amount=form.cleaned_data["amount"],
                    note=form.cleaned_data["note"],
                    by=request.user,
                )
            except RefundRefused as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, refund_requested_message(refund), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:payments_payment_change", args=[payment.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Refund payment #{payment.pk}",
            "payment": payment,
            "form": form,
            "captured": format_money(payment.captured_amount, payment.currency),
            "left": format_money(left, payment.currency),
            "back_url": reverse("admin:payments_payment_change", args=[payment.pk]),
        }
        return TemplateResponse(
            request, "admin/payments/payment/refund.html", context, status=400 if form.errors else 200
        )

    @admin.display(description="Left to refund")
    def refundable_display(self, payment):
        left = refundable_amount(payment)
        if not left:
            return format_money(0, payment.currency)
        return format_html(
            '{} <a class="button" href="{}">Refund…</a>',
            format_money(left, payment.currency),
            reverse("admin:payments_payment_refund", args=[payment.pk]),
        )

    @admin.display(description="Doctor", ordering="appointment__doctor__user__last_name")
    def doctor(self, payment):
        return payment.appointment.doctor

    @admin.display(description="Visit", ordering="appointment__slot__starts_at")
    def visit_date(self, payment):
        return hospital_time(payment.appointment.slot.starts_at)

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


# Not a model's list: the admin's index links it under "Tools" for whoever may view payments.
admin.site.register_page(
    AdminPage(
        route="payments/dashboard/",
        name="payments_dashboard",
        title="Money dashboard",
        description="Revenue net of refunds, appointments by status, no-show and cancellation rates",
        permission="payments.view_payment",
        view=money_dashboard_view,
    )
)


@admin.register(Dispute)
class DisputeAdmin(DisputeFactsMixin, AmountAsMoneyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every dispute Stripe told us about; those on no payment of ours say why in their note."""

    list_display = [
        "stripe_dispute_id", "payment", "amount_display", "status", "reason_display", "evidence_due_display", "note",
        "updated_at",
    ]  # fmt: skip
    list_filter = ["status", ("payment", admin.EmptyFieldListFilter)]
    search_fields = ["stripe_dispute_id", "charge_id", "payment_intent_id", "payment__appointment__patient__email"]
    fields = [
        "stripe_dispute_id", "payment", "charge_id", "payment_intent_id", "amount_display", "status", "reason_display",
        "evidence_due_display", "note", "created_at", "updated_at",
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


# "R-2026-000123", "2026-123" (any prefix, any zeros), or "123" alone (that number in every year).
DOCUMENT_NUMBER = re.compile(r"^\s*(?:[A-Za-z]+-)?(?:(?P<year>\d{4})-)?(?P<number>\d+)\s*$")


class NumberedDocumentAdmin(AmountAsMoneyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Receipts and credit notes, issued only by payments.services.receipts: searched by their
    number as printed, or by the patient's e-mail."""

    search_fields = ["payment__appointment__patient__email"]
    list_select_related = ["payment__appointment__patient"]
    date_hierarchy = "issued_at"

    @admin.display(description="Number", ordering="number")
    def number_display(self, document):
        return document.display_number

    @admin.display(description="Patient", ordering="payment__appointment__patient__email")
    def patient(self, document):
        return document.payment.appointment.patient

    def get_search_results(self, request, queryset, search_term):
        printed = DOCUMENT_NUMBER.match(search_term)
        if printed is None:
            return super().get_search_results(request, queryset, search_term)
        found = queryset.filter(number=int(printed["number"]))
        return (found.filter(year=int(printed["year"])) if printed["year"] else found), False


@admin.register(Receipt)
class ReceiptAdmin(NumberedDocumentAdmin):
    list_display = ["number_display", "issued_at", "patient", "amount_display", "payment"]
    fields = ["number_display", "issued_at", "payment", "patient", "amount_display"]
    readonly_fields = fields


@admin.register(CreditNote)
class CreditNoteAdmin(NumberedDocumentAdmin):
    """A credit note whose refund the bank later returned stays (its number is never reused) and
    shows as void."""

    list_display = ["number_display", "issued_at", "patient", "amount_display", "credits_receipt", "refund", "void"]
    list_select_related = ["payment__appointment__patient", "payment__receipt", "refund"]
    fields = [
        "number_display", "issued_at", "payment", "patient", "amount_display", "credits_receipt", "refund", "void",
    ]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Credits receipt")
    def credits_receipt(self, note):
        return note.payment.receipt.display_number

    @admin.display(description="Void (refund returned)", boolean=True)
    def void(self, note):
        return note.voided


class CancellationPolicyForm(forms.ModelForm):
    class Meta:
        model = CancellationPolicy
        fields = POLICY_TERM_FIELDS
        help_texts = {
            "full_refund_hours": "A full refund if the patient cancels at least this many hours before the start.",
            "partial_refund_hours": "The partial refund below until this many hours before the start; nothing after.",
            "partial_refund_percent": "The share of the fee that comes back in the partial window (0 for none).",
        }

    def clean(self):
        cleaned = super().clean()
        full, partial, percent = (cleaned.get(name) for name in POLICY_TERM_FIELDS)
        if full is not None and partial is not None and partial > full:
            self.add_error(
                "partial_refund_hours",
                f"The partial window must end no earlier than the full one: at most {full} hours "
                "(the full-refund hours).",
            )
        if percent is not None and percent > 100:
            self.add_error("partial_refund_percent", "A refund is at most 100 % of the fee.")
        return cleaned


@admin.register(CancellationPolicy)
class CancellationPolicyAdmin(admin.ModelAdmin):
    """The one policy row for new bookings. Changing it touches nothing booked (each payment keeps
    its own copy). Administrators change it (accounts.staff_groups); billing staff may read it."""

    form = CancellationPolicyForm
    fields = [*POLICY_TERM_FIELDS, "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def changelist_view(self, request, extra_context=None):
        """A list of one row is no list: straight to the policy itself."""
        policy = CancellationPolicy.row()
        return redirect(reverse("admin:payments_cancellationpolicy_change", args=[policy.pk]))

    def has_add_permission(self, request):
        return False  # the one row is made by the list page (CancellationPolicy.row)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
