from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from hospital import services
from hospital.forms import DoctorForm, TimeOffForm
from hospital.models import AuditEntry, Doctor, EmailAttachment, OutboundEmail, Slot, Specialty, TimeOff, WorkingHours
from hospital.money import format_money


def titled(title: str, filter_class: type[admin.FieldListFilter] = admin.ChoicesFieldListFilter):
    """A list filter with its own title ("By payment status"), where the field's name alone would
    give two filters of one page the same "By status"."""

    class TitledFilter(filter_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    return TitledFilter


class FormForOneAction:
    """For a model admin whose action asks for more than a click (an amount, a reason): the action
    opens a form page of its own for exactly one selected object (`form_for_one`), served at
    <pk>/<suffix>/ (`form_url`)."""

    def form_url(self, suffix: str, view) -> URLPattern:
        opts = self.model._meta
        return path(
            f"<path:object_id>/{suffix}/",
            self.admin_site.admin_view(view),
            name=f"{opts.app_label}_{opts.model_name}_{suffix}",
        )

    def form_for_one(self, request, queryset, *, suffix: str, one_at_a_time: str):
        chosen = list(queryset.values_list("pk", flat=True)[:2])
        if len(chosen) != 1:
            self.message_user(request, one_at_a_time, messages.WARNING)
            return None
        opts = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_{suffix}", args=[chosen[0]]))


class WorkingHoursFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        windows = [
            WorkingHours(**{key: form.cleaned_data[key] for key in ("weekday", "start_time", "end_time")})
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and all(form.cleaned_data.get(key) is not None for key in ("weekday", "start_time", "end_time"))
        ]
        for index, window in enumerate(windows):
            for other in windows[index + 1 :]:
                if window.overlaps(other):
                    raise ValidationError(f"Working hours overlap: {window} and {other}. Merge or shorten them.")


class WorkingHoursForm(forms.ModelForm):
    class Meta:
        model = WorkingHours
        fields = ["doctor", "weekday", "start_time", "end_time"]

    def clean(self):
        cleaned = super().clean()
        fields = ("doctor", "weekday", "start_time", "end_time")
        if all(cleaned.get(field) is not None for field in fields):
            services.working_hours_validate(**{field: cleaned[field] for field in fields}, exclude_pk=self.instance.pk)
        return cleaned


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 0


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    form = TimeOffForm
    extra = 0


class DoctorTimezoneMixin:
    """Show and read date-times in the doctor's own zone: staff think in the doctor's local time."""

    def doctor_of(self, obj):
        raise NotImplementedError

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, object_id) if object_id else None
        doctor = self.doctor_of(obj) if obj else None
        if doctor is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        with timezone.override(doctor.zone):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            # Rendered here: a TemplateResponse rendered later would show the fields in UTC again.
            if hasattr(response, "render"):
                response.render()
            return response


class RegeneratesSlotsMixin:
    """Rows that shape a doctor's schedule: any change brings the doctor's slots in line at once."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.slots_generate(doctor=obj.doctor)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.slots_generate(doctor=obj.doctor)

    def delete_queryset(self, request, queryset):
        doctors = list(Doctor.objects.filter(pk__in=queryset.values("doctor")))
        super().delete_queryset(request, queryset)
        for doctor in doctors:
            services.slots_generate(doctor=doctor)


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Doctor)
class DoctorAdmin(DoctorTimezoneMixin, admin.ModelAdmin):
    form = DoctorForm
    list_display = ("display_name", "specialty", "fee", "slot_minutes", "timezone", "is_active")
    list_filter = ("is_active", "specialty", "timezone")
    search_fields = ("user__first_name", "user__last_name", "user__email")
    list_select_related = ("user", "specialty")
    autocomplete_fields = ("user",)
    inlines = [WorkingHoursInline, TimeOffInline]
    fieldsets = (
        (None, {"fields": ("user", "specialty", "bio", "is_active")}),
        ("Consultations", {"fields": ("fee_currency", "fee_amount", "slot_minutes", "timezone")}),
        ("Where visits take place", {"fields": ("visit_type", "site", "room")}),
    )

    def doctor_of(self, obj):
        return obj

    def get_inlines(self, request, obj):
        # Time off is read in the doctor's zone, which a doctor being created does not have yet.
        return self.inlines if obj is not None else [WorkingHoursInline]

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        for inline in inlines:
            if isinstance(inline, TimeOffInline):  # a fresh instance per request: safe to name the zone
                inline.verbose_name_plural = f"Time off (times in {obj.timezone})"
        return inlines

    @admin.display(description="fee", ordering="fee_amount")
    def fee(self, doctor: Doctor) -> str:
        return format_money(doctor.fee_amount, doctor.fee_currency)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        result = services.slots_generate(doctor=form.instance)
        if result.created or result.removed:
            messages.info(request, f"Schedule updated: {result.created} slots added, {result.removed} removed.")


@admin.register(WorkingHours)
class WorkingHoursAdmin(RegeneratesSlotsMixin, admin.ModelAdmin):
    list_display = ("doctor", "weekday", "start_time", "end_time")
    list_filter = ("weekday", "doctor__specialty")
    search_fields = ("doctor__user__last_name", "doctor__user__first_name")
    list_select_related = ("doctor__user",)
    autocomplete_fields = ("doctor",)

    form = WorkingHoursForm


@admin.register(TimeOff)
class TimeOffAdmin(RegeneratesSlotsMixin, DoctorTimezoneMixin, admin.ModelAdmin):
    form = TimeOffForm
    list_display = ("doctor", "when", "reason")
    list_filter = ("doctor__specialty",)
    search_fields = ("doctor__user__last_name", "reason")
    date_hierarchy = "starts_at"
    list_select_related = ("doctor__user",)
    autocomplete_fields = ("doctor",)

    def doctor_of(self, obj):
        return obj.doctor

    @admin.display(description="When (doctor's time)", ordering="starts_at")
    def when(self, off: TimeOff) -> str:
        return off.local_span

    def has_add_permission(self, request):
        # Added on the doctor's page, where the times are read in the doctor's own zone.
        return False


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ("doctor", "starts_at", "local_start", "ends_at", "is_blocked")
    list_filter = ("is_blocked", "doctor__specialty", "doctor")
    search_fields = ("doctor__user__last_name",)
    date_hierarchy = "starts_at"
    list_select_related = ("doctor__user",)
    readonly_fields = ("doctor", "starts_at", "ends_at")
    actions = ["block_slots", "unblock_slots"]

    def has_add_permission(self, request):
        # Slots come from doctors' working hours; staff change hours or block a slot instead.
        return False

    @admin.display(description="doctor's local time")
    def local_start(self, slot: Slot) -> str:
        local = timezone.localtime(slot.starts_at, slot.doctor.zone)
        return f"{local:%a %d %b %H:%M} {local.tzname()}"

    @admin.action(description="Block selected slots (hide from patients)")
    def block_slots(self, request, queryset):
        count = services.slots_set_blocked(slots=queryset, blocked=True)
        messages.success(request, f"{count} slots blocked.")

    @admin.action(description="Unblock selected slots")
    def unblock_slots(self, request, queryset):
        count = services.slots_set_blocked(slots=queryset, blocked=False)
        messages.success(request, f"{count} slots unblocked.")


class ReadOnlyAdminMixin:
    """Rows written only by services (money facts, outbox, timelines): staff look, never edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EmailAttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = EmailAttachment
    fields = readonly_fields = ["filename", "mimetype", "rendered_kind", "rendered_object_id", "size"]
    extra = 0

    @admin.display(description="size (bytes)")
    def size(self, attachment: EmailAttachment) -> int:
        return len(attachment.content)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["subject", "to", "status", "attempts", "created_at", "sent_at"]
    list_filter = [("status", titled("delivery status"))]
    search_fields = ["to", "subject", "key"]
    inlines = [EmailAttachmentInline]
    readonly_fields = [
        "key", "to", "subject", "body", "html_body",
        "message_id", "status", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at",
    ]  # fmt: skip


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor", "action", "record_type", "record_id", "patient", "ip_address"]
    list_filter = [("action", titled("action")), "record_type"]
    search_fields = ["actor__email", "patient__email", "record_id", "summary"]
    list_select_related = ["actor", "patient"]
    date_hierarchy = "at"
    readonly_fields = ["at", "actor", "action", "patient", "record_type", "record_id", "summary", "ip_address"]
