from accounts.models import normalize_email_address


def axes_username(request, credentials) -> str | None:
    """Count failed log-ins per normalised e-mail, so changing letter case is no fresh start."""
    username = (credentials or {}).get("username") or request.POST.get("username")
    return normalize_email_address(username) if username else None
