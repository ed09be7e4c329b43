from django.conf import settings
from django.core.checks import Error, register

from accounts.timezones import timezone_choices


@register()
def hospital_time_zone_setting(app_configs, **kwargs):
    """New patients get this zone, and the sign-up page preselects it: it must be one it offers."""
    if settings.HOSPITAL_TIME_ZONE in dict(timezone_choices()):
        return []
    return [
        Error(
            f"HOSPITAL_TIME_ZONE is “{settings.HOSPITAL_TIME_ZONE}”; it must be an IANA zone name, e.g. Europe/London.",
            id="accounts.E001",
        )
    ]
