from django.contrib import admin
from django.utils import timezone
from django.utils.text import Truncator

from appointments import services
from appointments.models import Appointment, AppointmentLogEntry, DoctorCalendarFeed, Review
from hospital.admin import ReadOnlyAdminMixin, titled
from hospital.money import format_money


class AppointmentLogEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AppointmentLogEntry
    fields = ["at", "status", "message"]
    readonly_fields = fields
    extra = 0


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Status changes go through services (and, later, their admin actions), never the field."""

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
        "patient", "doctor", "slot", "local_start", "status", "cancel_reason", "hold_expires_at", "fee",
        "visit_type", "location_site", "location_room", "reason", "created_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = fields
    inlines = [AppointmentLogEntryInline]

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
