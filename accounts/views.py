from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import EmailAuthenticationForm, ProfileForm, SignUpForm


def _safe_next_url(request, fallback: str = "hospital:home") -> str:
    next_url = request.POST.get("next") or request.GET.get("next")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return reverse_lazy(fallback)


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
            return redirect(_safe_next_url(request))
    return render(request, "accounts/signup.html", {"form": form, "next": request.GET.get("next", "")})


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


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
    form = ProfileForm(request.POST if request.method == "POST" else None, initial=initial)
    if not user.is_patient:
        del form.fields["date_of_birth"], form.fields["timezone"]
    if request.method == "POST" and form.is_valid():
        services.user_profile_update(user=user, **form.cleaned_data)
        messages.success(request, "Your details were saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")
    success_message = "Your password was changed."


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    extra_email_context = {"site_name": settings.HOSPITAL_NAME}
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
