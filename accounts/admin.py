from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts import services
from accounts.models import PatientProfile, User
from accounts.timezones import timezone_choices


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
    actions = ["send_password_setup_email"]
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


@admin.register(PatientProfile)
class PatientProfileAdmin(admin.ModelAdmin):
    form = PatientProfileForm
    list_display = ("user", "date_of_birth", "timezone")
    search_fields = ("user__email", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
