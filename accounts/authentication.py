from accounts.models import normalize_email_address

# django-axes stores the username in a 255-character column; a longer one typed into a log-in
# form (Django's own forms do not cap its length) would otherwise fail the insert on PostgreSQL.
AXES_USERNAME_MAX_LENGTH = 255


def axes_username(request, credentials) -> str | None:
    """Count failed log-ins per normalised e-mail, so changing letter case is no fresh start."""
    username = (credentials or {}).get("username") or request.POST.get("username")
    return normalize_email_address(username)[:AXES_USERNAME_MAX_LENGTH] if username else None
