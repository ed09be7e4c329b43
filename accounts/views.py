import math
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.urls import Resolver404, resolve, reverse, reverse_lazy
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from accounts import services
from accounts.forms import ApiTokenForm, EmailAuthenticationForm, ProfileForm, SignUpForm, TotpCodeForm
from accounts.models import ApiToken
from accounts.next_url import safe_next_url
from accounts.two_factor import confirmed_device, qr_code_svg, second_factor_missing, secret_text, two_factor_required
from hospital import account_limits
from hospital.models import Slot
from hospital.selectors import user_time_zone
from hospital.timefmt import format_date, format_short


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


# What the "too many attempts" page says for each form: what was paused, and what was not done.
PAUSED = {
    account_limits.LOG_IN: (
        "Too many log-in attempts",
        "There have been many attempts to log in from your network, or to this account, in the last hour. "
        "To protect accounts we have paused log-in for a while: the details you sent were not checked.",
    ),
    account_limits.SIGN_UP: (
        "Too many sign-ups",
        "Many accounts have been created from your network in the last hour, so we have paused sign-up "
        "for it for a while. No account was created.",
    ),
    account_limits.PASSWORD_RESET: (
        "Too many password reset requests",
        "There have been many password reset requests from your network in the last hour, so we have "
        "paused them for a while. No e-mail was sent.",
    ),
}


def _too_many_attempts(request, form: str):
    """429 with Retry-After: the form was not processed; the page says when to try again."""
    wait = account_limits.retry_after_seconds()
    title, happened = PAUSED[form]
    context = {"title": title, "happened": happened, "minutes": math.ceil(wait / 60), "form_name": form}
    response = render(request, "accounts/too_many_attempts.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("hospital:home")
    if request.method == "POST" and not account_limits.account_form_allowed(request, form=account_limits.SIGN_UP):
        return _too_many_attempts(request, account_limits.SIGN_UP)
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

    def post(self, request, *args, **kwargs):
        email = request.POST.get("username", "")
        if not account_limits.account_form_allowed(request, form=account_limits.LOG_IN, email=email):
            return _too_many_attempts(request, account_limits.LOG_IN)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        account_limits.log_in_succeeded(self.request.POST.get("username", ""))
        return super().form_valid(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return context | {"booking_label": _booking_label(context["next"])}

    def get_default_redirect_url(self):
        return _home_after_log_in(self.request.user)

    def get_success_url(self):
        """Staff and doctors give their second factor first (the code page sends them on)."""
        url = super().get_success_url()
        if two_factor_required(self.request.user):
            return _second_factor_url("accounts:two_factor", url)
        return url


def _home_after_log_in(user) -> str:
    """Without a `next`: a doctor's home is their day (the portal), everyone else's the home page."""
    if user.is_authenticated and user.is_doctor:
        return resolve_url("portal:day")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _second_factor_url(view_name: str, next_url: str) -> str:
    return f"{reverse(view_name)}?{urlencode({'next': next_url})}" if next_url else reverse(view_name)


def _code_checked(request, device):
    """The code form, and the device once the code it posted was accepted (else None)."""
    form = TotpCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            return form, services.totp_code_check(device=device, code=form.cleaned_data["code"])
        except services.CodeRefused as refusal:
            form.add_error(None, str(refusal))  # the page's alert says it, not "correct the fields"
    return form, None


def _second_factor_given(request, device):
    """The session is verified from now on; a new session key, as at any change of privilege."""
    otp_login(request, device)
    request.session.cycle_key()
    return redirect(safe_next_url(request) or _home_after_log_in(request.user))


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    """The second step of a staff member's or doctor's log-in: the code from their app."""
    if not second_factor_missing(request.user):
        return redirect(safe_next_url(request) or _home_after_log_in(request.user))
    device = confirmed_device(request.user)
    if device is None:
        return redirect(_second_factor_url("accounts:two_factor_set_up", safe_next_url(request)))
    form, verified_by = _code_checked(request, device)
    if verified_by:
        return _second_factor_given(request, verified_by)
    return render(request, "accounts/two_factor.html", {"form": form, "next": safe_next_url(request)})


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_set_up(request):
    """A staff member's or doctor's first log-in (or the first after staff reset it): the app
    scans the QR code (or the person types the secret), and a first code confirms it works."""
    if not second_factor_missing(request.user):
        return redirect(safe_next_url(request) or _home_after_log_in(request.user))
    if confirmed_device(request.user) is not None:
        return redirect(_second_factor_url("accounts:two_factor", safe_next_url(request)))
    device = services.totp_enrolment_device(user=request.user)
    form, verified_by = _code_checked(request, device)
    if verified_by:
        messages.success(request, "Two-factor log-in is set up: each log-in now asks for a code from your app.")
        return _second_factor_given(request, verified_by)
    context = {
        "form": form,
        "next": safe_next_url(request),
        "qr_code_svg": qr_code_svg(device),
        "secret": secret_text(device),
    }
    response = render(request, "accounts/two_factor_set_up.html", context)
    add_never_cache_headers(response)  # the secret: Back and the browser's cache cannot show it again
    return response


def _shown(moment, zone: str, style=format_short) -> dict | None:
    return None if moment is None else {"iso": moment.isoformat(), "text": style(moment, zone)}


def _profile_page(request, *, form=None, token_form=None, status: int = 200):
    """The profile page: the user's details, and their API tokens (live ones only)."""
    user = request.user
    if form is None:
        form = ProfileForm(initial=_profile_initial(user), role=user.role)
    zone = user_time_zone(user)
    tokens = [
        {
            "key": token.token_key,
            "name": token.name,
            "created": _shown(token.created, zone, format_date),
            "expires": _shown(token.expiry, zone, format_date),
            "last_used": _shown(token.last_used_at, zone),
        }
        for token in ApiToken.objects.live().filter(user=user).order_by("-created")
    ]
    context = {
        "form": form,
        "doctor": getattr(user, "doctor_profile", None) if user.is_doctor else None,
        "token_form": token_form or ApiTokenForm(),
        "tokens": tokens,
        "tokens_most": services.API_TOKENS_PER_USER,
        "time_zone": zone,
    }
    return render(request, "accounts/profile.html", context, status=status)


def _profile_initial(user) -> dict:
    patient_profile = getattr(user, "patient_profile", None) if user.is_patient else None
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": user.phone,
        "date_of_birth": patient_profile.date_of_birth if patient_profile else None,
    }
    if patient_profile:
        initial["timezone"] = patient_profile.timezone
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, initial=_profile_initial(user), role=user.role)
        if form.is_valid():
            services.user_profile_update(user=user, **form.cleaned_data)
            messages.success(request, "Your details were saved.")
            return redirect("accounts:profile")
        return _profile_page(request, form=form)
    return _profile_page(request)


@login_required
@require_POST
def api_token_create(request):
    """A new API token; its secret is on this response only (never stored, never shown again)."""
    token_form = ApiTokenForm(request.POST)
    if token_form.is_valid():
        try:
            token, secret = services.api_token_create(
                user=request.user, name=token_form.cleaned_data["name"], days=token_form.cleaned_data["days"]
            )
        except ValidationError as error:
            token_form.add_error(None, error)
        except services.ApiTokenRefused as refusal:
            token_form.add_error(None, str(refusal))
        else:
            zone = user_time_zone(request.user)
            response = render(
                request,
                "accounts/api_token_created.html",
                {"token": token, "secret": secret, "expires": _shown(token.expiry, zone)},
            )
            add_never_cache_headers(response)  # no-store: Back and the browser's cache cannot show it again
            return response
    return _profile_page(request, token_form=token_form, status=400)


@login_required
@require_POST
def api_token_revoke(request, token_key: str):
    """Revoke one of the user's own tokens; another user's, or one already gone, is a 404."""
    name = services.api_token_revoke(user=request.user, token_key=token_key)
    if name is None:
        raise Http404
    messages.success(request, f"The token “{name}” was revoked: programs using it can no longer sign in.")
    return redirect(reverse("accounts:profile") + "#api-tokens")


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

    def post(self, request, *args, **kwargs):
        # The same page whether or not the e-mail has an account: the limit is per address only.
        if not account_limits.account_form_allowed(request, form=account_limits.PASSWORD_RESET):
            return _too_many_attempts(request, account_limits.PASSWORD_RESET)
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
