"""Who is calling: an API token (`Authorization: Bearer nbh_...`) or the browser's session.

Tokens are knox's: only a hash is stored, each expires, and accounts deletes a user's tokens
when their password changes or the account is deactivated (accounts/receivers.py).
"""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied

from accounts.two_factor import second_factor_missing

# How stale a token's "last used" may get: one write a minute at most, not one per request.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            type(token).objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token


class SecondFactorRequired(PermissionDenied):
    default_detail = "Enter the code from your authenticator app on the site's log-in page first."
    default_code = "second_factor_required"


class BrowserSessionAuthentication(SessionAuthentication):
    """The site's own pages calling the API: the session cookie, with Django's CSRF check. A staff
    member's or doctor's session counts only once it gave the second factor (a 403 until then)."""

    def authenticate(self, request):
        authenticated = super().authenticate(request)
        if authenticated is not None and second_factor_missing(authenticated[0]):
            raise SecondFactorRequired
        return authenticated


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from POST /api/v1/auth/tokens/ or the profile page: `Authorization: Bearer nbh_…`.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = BrowserSessionAuthentication
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The site's log-in, with CSRF."}
