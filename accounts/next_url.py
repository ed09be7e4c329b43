"""The `next` address that log-in and sign-up send a visitor back to.

It arrives from outside (a link, a form field), so it is used only when it stays on this site:
anything else would make our log-in page an open redirect.
"""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest) -> str:
    """The request's `next` (form field first, then query string) if it is on this site, else ""."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return next_url
    return ""


def way_back_url(request: HttpRequest) -> str:
    """Where "Log in" and "Create account" should return to from this page: the `next` that the
    log-in and sign-up pages carry, or the page itself elsewhere (not the home page, which is
    where they go anyway, nor a page reached by POST)."""
    match = request.resolver_match
    if match is None:
        return ""
    if match.namespace == "accounts":
        return safe_next_url(request)
    if request.method != "GET" or match.view_name == "hospital:home":
        return ""
    return request.get_full_path()
