from django.contrib import admin
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, AppointmentLogEntry, DoctorCalendarFeed
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
