from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from appointments import services
from appointments.models import (
    CANCEL_PERMISSION,
    Appointment,
    AppointmentLogEntry,
    DoctorCalendarFeed,
    Review,
    VisitNote,
    VisitNoteAddendum,
)
from hospital.admin import FormForOneAction, ReadOnlyAdminMixin, titled
from hospital.audit import audit_record, request_ip
from hospital.models import AuditAction
from hospital.money import format_money
from payments.forms import StaffCancelForm, canceled_message
from payments.services.cancellation import appointment_cancel

# Who may read money in the admin: whoever may view payments (billing and administrators).
SEES_MONEY = "payments.view_payment"


class AppointmentLogEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AppointmentLogEntry
    fields = ["at", "status", "message"]
    readonly_fields = fields
    extra = 0


@admin.register(Appointment)
class AppointmentAdmin(FormForOneAction, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Status changes go through services (and, later, their admin actions), never the field.
    The fee shows only to staff who may read money: front desk sees the payment's status alone."""

    list_display = ["pk", "patient", "doctor", "local_start", "status", "payment_status", "fee"]
    list_filter = [
        ("status", titled("appointment status")),
        ("payment__status", titled("payment status")),
        "doctor__specialty",
        "doctor",
    ]
    search_fields = ["patient__email", "patient__last_name", "doctor__user__last_name", "payment__payment_intent_id"]
    list_select_related = ["patient", "doctor__user", "slot", "payment"]
    date_hierarchy = "created_at"
    fields = [
        "patient", "doctor", "slot", "local_start", "status", "payment_status", "cancel_reason", "hold_expires_at",
        "fee", "visit_type", "location_site", "location_room", "reason", "created_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = fields
    inlines = [AppointmentLogEntryInline]
    actions = ["cancel_and_refund"]

    def has_cancel_permission(self, request):
        return request.user.has_perm(CANCEL_PERMISSION)

    def get_urls(self):
        return [self.form_url("cancel", self.cancel_view), *super().get_urls()]

    @admin.action(description="Cancel and refund in full…", permissions=["cancel"])
    def cancel_and_refund(self, request, queryset):
        """Opens the cancel form for one appointment: the patient is told why, in their words."""
        return self.form_for_one(
            request, queryset, suffix="cancel", one_at_a_time="Cancel one appointment at a time: select exactly one."
        )

    def cancel_view(self, request, object_id):
        """Cancel a confirmed visit for the hospital with a reason for the patient; the payment is
        refunded in full by the refund worker (payments.services.cancellation)."""
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        appointment = self.get_object(request, object_id)
        if appointment is None:
            raise Http404("No such appointment.")
        form = StaffCancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                quote = appointment_cancel(
                    appointment_id=appointment.pk, by=request.user, note=form.cleaned_data["note"]
                )
            except services.BookingError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, canceled_message(appointment.pk, quote), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:appointments_appointment_change", args=[appointment.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Cancel booking #{appointment.pk} and refund in full",
            "appointment": appointment,
            "local_start": self.local_start(appointment),
            "form": form,
            "back_url": reverse("admin:appointments_appointment_change", args=[appointment.pk]),
        }
        return TemplateResponse(
            request, "admin/appointments/appointment/cancel.html", context, status=400 if form.errors else 200
        )

    def _without_money(self, request, names):
        return list(names) if request.user.has_perm(SEES_MONEY) else [name for name in names if name != "fee"]

    def get_list_display(self, request):
        return self._without_money(request, super().get_list_display(request))

    def get_fields(self, request, obj=None):
        return self._without_money(request, super().get_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        return self._without_money(request, super().get_readonly_fields(request, obj))

    @admin.display(description="Starts (doctor's time)", ordering="slot__starts_at")
    def local_start(self, appointment):
        local = timezone.localtime(appointment.slot.starts_at, appointment.doctor.zone)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"

    @admin.display(description="Fee")
    def fee(self, appointment):
        return format_money(appointment.fee_amount, appointment.fee_currency)

    @admin.display(description="Payment", ordering="payment__status")
    def payment_status(self, appointment):
        payment = getattr(appointment, "payment", None)
        return payment.get_status_display() if payment else "—"


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Patients' ratings, as they gave them: written only by appointments.services.review_submit
    (the doctor's totals count each one), so staff read and never edit or delete them."""

    list_display = ["created_at", "rating", "doctor", "patient", "appointment", "comment_start"]
    list_filter = ["rating", "appointment__doctor__specialty", "appointment__doctor", "created_at"]
    search_fields = ["comment", "appointment__patient__email", "appointment__patient__last_name",
                     "appointment__doctor__user__last_name"]  # fmt: skip
    list_select_related = ["appointment__patient", "appointment__doctor__user"]
    date_hierarchy = "created_at"
    fields = ["appointment", "doctor", "patient", "rating", "comment", "created_at"]
    readonly_fields = fields

    @admin.display(description="Doctor", ordering="appointment__doctor__user__last_name")
    def doctor(self, review):
        return review.appointment.doctor

    @admin.display(description="Patient", ordering="appointment__patient__last_name")
    def patient(self, review):
        return review.appointment.patient

    @admin.display(description="Comment")
    def comment_start(self, review):
        return Truncator(review.comment).chars(80) or "—"


@admin.register(DoctorCalendarFeed)
class DoctorCalendarFeedAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Staff can turn off a doctor's feed (say the doctor lost a phone that had it), never see its
    address: only a hash of it is kept."""

    list_display = ["doctor", "created_at", "last_fetched_at"]
    list_select_related = ["doctor__user"]
    search_fields = ["doctor__user__last_name", "doctor__user__email"]
    fields = ["doctor", "created_at", "last_fetched_at"]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("appointments.delete_doctorcalendarfeed")

    def delete_model(self, request, obj):
        services.calendar_feed_revoke(doctor=obj.doctor)

    def delete_queryset(self, request, queryset):
        for feed in queryset.select_related("doctor"):
            services.calendar_feed_revoke(doctor=feed.doctor)


class VisitNoteAddendumInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = VisitNoteAddendum
    fields = ["signed_at", "author", "text"]
    readonly_fields = fields
    extra = 0


@admin.register(VisitNote)
class VisitNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Visit notes for the clinical-records group: read here, written only by the visit's doctor
    (a signed note is final). The list names the visit, never the note's words; opening a note is
    recorded in the audit log."""

    list_display = ["appointment", "patient", "doctor", "signed_at", "signed_by"]
    list_filter = [("signed_at", admin.EmptyFieldListFilter)]
    search_fields = ["appointment__patient__email", "appointment__patient__last_name", "appointment__pk"]
    list_select_related = ["appointment__patient", "appointment__doctor__user", "signed_by"]
    fields = ["appointment", "patient", "doctor", "text", "created_at", "updated_at", "signed_at", "signed_by"]
    readonly_fields = fields
    inlines = [VisitNoteAddendumInline]

    @admin.display(description="Patient", ordering="appointment__patient__last_name")
    def patient(self, note):
        return note.appointment.patient

    @admin.display(description="Doctor")
    def doctor(self, note):
        return note.appointment.doctor

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        note = self.get_object(request, object_id) if response.status_code == 200 else None
        if note is not None:
            audit_record(
                actor=request.user,
                action=AuditAction.READ,
                record=note,
                patient=note.appointment.patient,
                ip=request_ip(request),
                summary="Read the visit note and its addenda in the admin.",
            )
        return response
