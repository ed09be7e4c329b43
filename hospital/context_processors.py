import functools

from django.conf import settings
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse


@functools.cache
def _site_links(script_prefix: str) -> dict[str, str]:
    """The header's fixed links and assets. The same on every page a process serves under one
    script prefix (reverse() reads it), so worked out once instead of on every page."""
    return {
        "home": reverse("hospital:home"),
        "doctors": reverse("hospital:doctor_list"),
        "my_appointments": reverse("appointments:list"),
        "portal": reverse("portal:day"),
        "prescriptions": reverse("prescriptions:list"),
        "admin": reverse("admin:index"),
        "profile": reverse("accounts:profile"),
        "logout": reverse("accounts:logout"),
        "login": reverse("accounts:login"),
        "signup": reverse("accounts:signup"),
        "logo": static("img/logo.svg"),
        "stylesheet": static("css/site.css"),
    }


def site(request):
    return {"hospital_name": settings.HOSPITAL_NAME, "site_links": _site_links(get_script_prefix())}
