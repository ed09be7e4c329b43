"""Staff and doctors are signed out after STAFF_IDLE_LOGOFF_MINUTES without a request (a screen
left open on a ward or at the front desk shows medical and payment records). Each request slides
the deadline; their session cookie also ends with the browser. Patients keep SESSION_COOKIE_AGE.
The next page says why they were signed out: a login_required page leads to the log-in form."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout

LAST_SEEN = "idle_logoff_last_seen"
# The last request's time is saved at most this often: a session saved on every request would
# be a database write per page for staff (sessions are cached_db with Redis). The sign-out may
# then come up to this much earlier than STAFF_IDLE_LOGOFF_MINUTES after the very last request,
# so a short log-off saves it more often: at least ten times in each period.
LAST_SEEN_RESOLUTION_SECONDS = 60


def _signs_out_when_idle(user) -> bool:
    return user.is_authenticated and not user.is_patient  # staff and doctors


def idle_clock_start(sender, request, user, **kwargs):
    """user_logged_in: the idle clock starts at log-in, however it happened, so the first page
    after it need not save the session again."""
    if _signs_out_when_idle(user):
        request.session[LAST_SEEN] = time.time()
        request.session.set_expiry(0)


class IdleLogoffMiddleware:
    """After the session and messages middleware (it reads both) and authentication."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        minutes = settings.STAFF_IDLE_LOGOFF_MINUTES
        if _signs_out_when_idle(request.user):
            last_seen = request.session.get(LAST_SEEN)
            if last_seen is not None and time.time() - last_seen >= minutes * 60:
                logout(request)
                duration = f"{minutes} minute{'' if minutes == 1 else 's'}"
                messages.warning(request, f"You were signed out after {duration} without activity.")
        response = self.get_response(request)
        # request.user again: the view may just have logged someone in (or out).
        if _signs_out_when_idle(request.user):
            now = time.time()
            if now - request.session.get(LAST_SEEN, 0) >= min(LAST_SEEN_RESOLUTION_SECONDS, minutes * 6):
                request.session[LAST_SEEN] = now
            if not request.session.get_expire_at_browser_close():
                request.session.set_expiry(0)  # the cookie ends with the browser
        return response
