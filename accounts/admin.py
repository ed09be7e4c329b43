from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import PatientProfile, User
from accounts.timezones import timezone_choices
from hospital.audit import audit_record, request_ip
from hospital.models import AuditAction

TWO_FACTOR_RESET = "Two-factor log-in reset: authenticator app removed, to be set up again at the next log-in"


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role")


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class PatientProfileForm(forms.ModelForm):
    # The model keeps no `choices` (the tz database differs between machines); the form offers them.
    timezone = forms.ChoiceField(label="Time zone", choices=timezone_choices)

    class Meta:
        model = PatientProfile
        fields = ["user", "date_of_birth", "timezone"]


class PatientProfileInline(admin.StackedInline):
    model = PatientProfile
    form = PatientProfileForm
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    list_display = ("email", "first_name", "last_name", "role", "is_active", "date_joined", "last_login")
    list_filter = ("role", "is_active", "is_superuser")
    search_fields = ("email", "first_name", "last_name", "phone")
    ordering = ("last_name", "first_name")
    readonly_fields = ("is_staff", "last_login", "date_joined")
    actions = ["send_password_setup_email", "reset_two_factor"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "phone")}),
        (
            "Role and access",
            {
                "fields": ("role", "is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": "Admin access follows the role: staff accounts have it, others never do.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "role", "usable_password", "password1", "password2"),
                "description": (
                    "For a doctor or staff member, choose “Disabled” for password-based authentication, "
                    "save, then use the action “E-mail a link to choose a password” in the user list."
                ),
            },
        ),
    )

    def get_inlines(self, request, obj):
        return [PatientProfileInline] if obj is not None and obj.is_patient else []

    @admin.action(description="E-mail a link to choose a password")
    def send_password_setup_email(self, request, queryset):
        base_url = request.build_absolute_uri("/")
        for user in queryset:
            services.user_send_password_setup_email(user=user, base_url=base_url)
        messages.success(request, f"Password set-up link sent to {len(queryset)} account(s).")

    @admin.action(
        description="Reset two-factor log-in (lost phone: set up the app again)", permissions=["reset_two_factor"]
    )
    def reset_two_factor(self, request, queryset):
        reset = two_factor_reset(request, users=queryset)
        messages.success(
            request, f"Two-factor log-in reset for {reset} account(s): they set up their app at the next log-in."
        )

    def has_reset_two_factor_permission(self, request):
        return request.user.has_perm("otp_totp.delete_totpdevice")


def two_factor_reset(request, *, users) -> int:
    """Remove each user's authenticator app, with an audit entry each: who reset whose, from where."""
    reset = 0
    for user in users:
        with transaction.atomic():
            if services.totp_devices_remove(user=user):
                audit_record(
                    actor=request.user,
                    action=AuditAction.UPDATE,
                    record=user,
                    patient=None,
                    ip=request_ip(request),
                    summary=TWO_FACTOR_RESET,
                )
                reset += 1
    return reset


@admin.register(TOTPDevice)
class AuthenticatorAppAdmin(admin.ModelAdmin):
    """Who has set up an authenticator app, and when it was last used; never its secret. Deleting
    one is a reset (audited): that person sets up an app again at their next log-in."""

    list_display = ("user", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__email", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # a device is set up by its owner, scanning the QR code on their phone

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        two_factor_reset(request, users=[obj.user])

    def delete_queryset(self, request, queryset):
        two_factor_reset(request, users=User.objects.filter(totpdevice__in=queryset).distinct())


@admin.register(PatientProfile)
class PatientProfileAdmin(admin.ModelAdmin):
    form = PatientProfileForm
    list_display = ("user", "date_of_birth", "timezone")
    search_fields = ("user__email", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
