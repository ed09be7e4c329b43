from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.urls import Resolver404, resolve, reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import EmailAuthenticationForm, ProfileForm, SignUpForm
from accounts.next_url import safe_next_url
from hospital.models import Slot


def _booking_label(next_url: str) -> str:
    """What log-in and sign-up are for, e.g. "Dr Amara Okafor, Wed 2 Dec 11:00 GMT" (the doctor's
    zone), when `next` is the booking page of a listed doctor's slot; "" for anything else."""
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        return ""
    if match.view_name != "appointments:book":
        return ""
    slot = (
        Slot.objects.select_related("doctor__user").filter(pk=match.kwargs["slot_id"], doctor__is_active=True).first()
    )
    if slot is None:
        return ""
    starts = timezone.localtime(slot.starts_at, slot.doctor.zone)
    return f"{slot.doctor.display_name}, {starts:%a} {starts.day} {starts:%b %H:%M %Z}"


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("hospital:home")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.patient_register(
                email=data["email"],
                password=data["password1"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data["phone"],
                date_of_birth=data["date_of_birth"],
                timezone=data["timezone"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.first_name}. Your account is ready.")
            return redirect(safe_next_url(request) or "hospital:home")
    next_url = safe_next_url(request)
    return render(
        request, "accounts/signup.html", {"form": form, "next": next_url, "booking_label": _booking_label(next_url)}
    )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return context | {"booking_label": _booking_label(context["next"])}

    def get_default_redirect_url(self):
        """Without a `next`: a doctor's home is their day (the portal), everyone else's the home page."""
        if self.request.user.is_authenticated and self.request.user.is_doctor:
            return resolve_url("portal:day")
        return super().get_default_redirect_url()


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    patient_profile = getattr(user, "patient_profile", None) if user.is_patient else None
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": user.phone,
        "date_of_birth": patient_profile.date_of_birth if patient_profile else None,
    }
    if patient_profile:
        initial["timezone"] = patient_profile.timezone
    form = ProfileForm(request.POST if request.method == "POST" else None, initial=initial, role=user.role)
    if request.method == "POST" and form.is_valid():
        services.user_profile_update(user=user, **form.cleaned_data)
        messages.success(request, "Your details were saved.")
        return redirect("accounts:profile")
    doctor = getattr(user, "doctor_profile", None) if user.is_doctor else None
    return render(request, "accounts/profile.html", {"form": form, "doctor": doctor})


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")
    success_message = "Your password was changed."


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    html_email_template_name = "accounts/email/password_reset.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    extra_email_context = {"site_name": settings.HOSPITAL_NAME, **services.email_base_context()}
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
