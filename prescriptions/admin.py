"""Prescriptions in the admin: read-only, and only for staff in the Clinical records group
(superusers count). The group decides, whatever model permissions an account was given: billing
or front desk staff holding a stray "view prescription" permission still see nothing. Opening one
is recorded in the audit log, like a read in the pages."""

from django.contrib import admin

from accounts.models import StaffGroup
from hospital import timefmt
from hospital.admin import ReadOnlyAdminMixin
from hospital.audit import request_ip
from prescriptions.models import Prescription, PrescriptionItem
from prescriptions.services import prescription_access_record


def _reads_clinical_records(request) -> bool:
    # The admin asks before anyone has logged in too (its log-in page lists nothing, but asks).
    return request.user.is_authenticated and request.user.in_staff_group(StaffGroup.CLINICAL_RECORDS)


class ClinicalRecordsOnlyMixin(ReadOnlyAdminMixin):
    def has_module_permission(self, request):
        return _reads_clinical_records(request)

    def has_view_permission(self, request, obj=None):
        return _reads_clinical_records(request)


class PrescriptionItemInline(ClinicalRecordsOnlyMixin, admin.TabularInline):
    model = PrescriptionItem
    fields = ["position", "medicine", "strength", "dose", "route", "frequency", "duration", "quantity", "instructions"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Prescription)
class PrescriptionAdmin(ClinicalRecordsOnlyMixin, admin.ModelAdmin):
    list_display = ["number", "issued", "doctor", "patient", "state"]
    list_select_related = ["doctor__user", "patient"]
    search_fields = ["number", "patient__email", "patient__last_name", "doctor__user__last_name"]
    fields = [
        "number", "state", "issued", "doctor", "patient", "appointment", "general_advice", "follow_up_on",
        "supersedes", "superseded_by_number",
    ]  # fmt: skip
    readonly_fields = fields
    inlines = [PrescriptionItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).issued().with_superseded().select_related("superseded_by")

    @admin.display(description="issued", ordering="issued_at")
    def issued(self, prescription: Prescription) -> str:
        return timefmt.format_moment(prescription.issued_at, prescription.doctor.timezone)

    @admin.display(description="state", boolean=False)
    def state(self, prescription: Prescription) -> str:
        return "Superseded" if prescription.is_superseded else "Current"

    @admin.display(description="superseded by")
    def superseded_by_number(self, prescription: Prescription) -> str:
        return getattr(prescription, "superseded_by", None) or "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        prescription = getattr(response, "context_data", {}).get("original")
        if request.method == "GET" and response.status_code == 200 and prescription is not None:
            prescription_access_record(
                prescription=prescription, user=request.user, downloaded=False, ip=request_ip(request)
            )
        return response
