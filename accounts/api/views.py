"""Log-in for API clients, their tokens, and who is calling."""

from django.contrib.auth import authenticate
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import ApiToken, normalize_email_address
from accounts.two_factor import confirmed_device, two_factor_required
from hospital import account_limits
from hospital.api.errors import Conflict
from hospital.api.schema import error
from hospital.api.throttling import LogIn
from hospital.selectors import user_time_zone

LOGIN_REFUSED = "The e-mail address or password is not right."
OTP_MISSING = "Staff and doctor accounts also send `otp`: the 6-digit code from their authenticator app."
OTP_NO_DEVICE = "This account has no authenticator app yet: log in on the site once to set one up."


class TokenRequest(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=80, help_text="Which app or device will use the token.")
    days = serializers.ChoiceField(choices=services.API_TOKEN_LIFETIMES_DAYS, default=90)
    otp = serializers.RegexField(
        r"^\d{6}$",
        required=False,
        help_text="Staff and doctors: the 6-digit code from their authenticator app (patients leave it out).",
        error_messages={"invalid": "Send the 6 digits the authenticator app shows, numbers only."},
    )


class TokenOut(serializers.Serializer):
    id = serializers.CharField(source="token_key", help_text="The token's first characters: its name in lists.")
    name = serializers.CharField()
    created_at = serializers.DateTimeField(source="created")
    expires_at = serializers.DateTimeField(source="expiry")
    last_used_at = serializers.DateTimeField()


class NewToken(TokenOut):
    token = serializers.CharField(help_text="The secret: shown this once. Send it as `Authorization: Bearer <token>`.")


class TokenList(generics.ListCreateAPIView):
    """The caller's live API tokens, newest first (the secrets are never shown again)."""

    serializer_class = TokenOut

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else super().get_permissions()

    def get_throttles(self):
        return [*super().get_throttles(), LogIn()] if self.request.method == "POST" else super().get_throttles()

    def get_queryset(self):
        return ApiToken.objects.live().filter(user=self.request.user).order_by("-created")

    @extend_schema(
        request=TokenRequest,
        responses={
            201: NewToken,
            400: error(400, "A value is missing or not valid (staff and doctors: `otp`)."),
            401: error(
                401, f"{LOGIN_REFUSED} Or the `otp` is wrong, was used already, or came too soon after wrong ones."
            ),
            409: error(409, "The account has too many tokens."),
        },
        auth=[],
    )
    def post(self, request):
        """Log in: a new token from an e-mail address and password, named for the app that will use it.
        Staff and doctors also send `otp`, the code from their authenticator app. Failed log-ins
        count towards the same lock-out as the site's log-in page; wrong codes make the next try
        wait longer each time."""
        asked = TokenRequest(data=request.data)
        asked.is_valid(raise_exception=True)
        # django-axes counts this attempt and refuses a locked-out address and e-mail pair.
        user = authenticate(
            request._request,
            username=normalize_email_address(asked.validated_data["email"]),
            password=asked.validated_data["password"],
        )
        if getattr(request._request, "axes_locked_out", False):
            raise Throttled(detail="Too many failed log-ins. Try again later or reset your password.")
        if user is None:
            raise AuthenticationFailed(LOGIN_REFUSED)
        account_limits.log_in_succeeded(asked.validated_data["email"])
        if two_factor_required(user):
            _check_second_factor(user, asked.validated_data.get("otp"))
        try:
            token, secret = services.api_token_create(
                user=user, name=asked.validated_data["name"], days=asked.validated_data["days"]
            )
        except services.ApiTokenRefused as exc:
            raise Conflict(str(exc)) from exc
        return Response({**TokenOut(token).data, "token": secret}, status=status.HTTP_201_CREATED)


def _check_second_factor(user, code: str | None) -> None:
    """A staff member's or doctor's token is made with their second factor, as their log-in is."""
    if not code:
        raise ValidationError({"otp": [OTP_MISSING]})
    device = confirmed_device(user)
    if device is None:
        raise AuthenticationFailed(OTP_NO_DEVICE)
    try:
        services.totp_code_check(device=device, code=code)
    except services.CodeRefused as refusal:
        raise AuthenticationFailed(str(refusal)) from refusal


class TokenDetail(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, token_id: str):
        """Revoke one of the caller's tokens (the one in use included: that is a log-out)."""
        if not services.api_token_revoke(user=request.user, token_key=token_id):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)


class Me(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.CharField(help_text="patient, doctor or staff")
    time_zone = serializers.CharField(help_text="The zone this account's own times are shown in (IANA).")


class MeView(APIView):
    @extend_schema(responses=Me)
    def get(self, request):
        """Who is calling: the account, its role and the zone its own times are shown in."""
        user = request.user
        return Response(
            Me(
                {
                    "id": user.pk,
                    "email": user.email,
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                    "role": user.role,
                    "time_zone": user_time_zone(user),
                }
            ).data
        )
