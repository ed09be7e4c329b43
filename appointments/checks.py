from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register


@register()
def video_base_url_setting(app_configs, **kwargs):
    """A video link is VIDEO_BASE_URL/<room>: anything but an absolute web address gives patients a
    link that goes nowhere."""
    base = settings.VIDEO_BASE_URL
    parts = urlsplit(base)
    if base and (parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment):
        return [
            Error(
                f"VIDEO_BASE_URL is {base!r}; it must be an http(s) address such as https://meet.example.org.",
                id="appointments.E001",
            )
        ]
    return []
