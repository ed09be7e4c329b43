"""Who is calling: an API token (`Authorization: Bearer nbh_...`) or the browser's session.

Tokens are knox's: only a hash is stored, each expires, and accounts deletes a user's tokens
when their password changes or the account is deactivated (accounts/receivers.py).
"""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from rest_framework.authentication import SessionAuthentication

# How stale a token's "last used" may get: one write a minute at most, not one per request.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiTokenAuthentication(TokenAuthentication):
    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            type(token).objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token


class BrowserSessionAuthentication(SessionAuthentication):
    """The site's own pages calling the API: the session cookie, with Django's CSRF check."""


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
