from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from accounts.two_factor import second_factor_missing

# What an unverified staff member or doctor may still reach: the code pages and log-out (by name,
# below), static files, and what is no person's page: the Stripe webhook (signed by Stripe),
# the health check, and the API, whose session authentication answers 403 in its own error shape
# (hospital/api/authentication.py) while tokens, made with the second factor, keep working.
OPEN_PATH_PREFIXES = ("/stripe/", "/healthz", "/api/")
OPEN_VIEWS = {"accounts:two_factor", "accounts:two_factor_set_up", "accounts:logout"}


class SecondFactorMiddleware:
    """Sends a staff member or doctor who logged in with their password but has not yet given a
    code to the code page (which sets up an app first when they have none), from every other page:
    the admin's own log-in page included, so it is no way around the second factor."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.open_prefixes = (*OPEN_PATH_PREFIXES, "/" + settings.STATIC_URL.lstrip("/"))
        self.open_paths: set[str] | None = None  # resolved on the first request, once the URLconf loads

    def __call__(self, request):
        # Without a session cookie nobody is logged in: the session is not even read (reading it
        # would add "Vary: Cookie" to the public pages).
        if (
            settings.SESSION_COOKIE_NAME not in request.COOKIES
            or self._is_open(request.path)
            or not second_factor_missing(request.user)
        ):
            return self.get_response(request)
        code_page = reverse("accounts:two_factor")
        if request.method in ("GET", "HEAD"):  # back to that page afterwards (a form's POST is not repeated)
            code_page += "?" + urlencode({"next": request.get_full_path()})
        return redirect(code_page)

    def _is_open(self, path: str) -> bool:
        if self.open_paths is None:
            self.open_paths = {reverse(name) for name in OPEN_VIEWS}
        return path in self.open_paths or path.startswith(self.open_prefixes)
