"""Appointments in calendar apps: one visit's .ics, and the doctor's private feed and its page."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import role_required
from accounts.models import Role
from appointments import ical, selectors, services
from appointments.forms import CalendarFeedForm
from hospital.models import Doctor


def _calendar_response(content: bytes, *, filename: str, disposition: str) -> HttpResponse:
    response = HttpResponse(content, content_type=ical.CONTENT_TYPE)
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    # Private either way: never kept by a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def appointment_calendar(request, pk: int):
    """A visit's .ics for its own patient or doctor; anyone else gets the 404 of a visit that
    does not exist."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    content = selectors.appointment_calendar(user=request.user, pk=pk)
    return _calendar_response(content, filename=ical.ics_filename(pk), disposition="attachment")


@require_GET
def calendar_feed(request, token: str):
    """The doctor's feed, fetched by calendar apps without a session: the token is the key."""
    found = selectors.calendar_feed(token=token)
    if found is None:
        raise Http404("No such calendar feed.")
    feed_id, content = found
    services.calendar_feed_record_fetch(feed_id=feed_id)
    response = _calendar_response(content, filename="appointments.ics", disposition="inline")
    response["X-Robots-Tag"] = "noindex"
    return response


@role_required(Role.DOCTOR)
@require_http_methods(["GET", "POST"])
def calendar_feed_settings(request):
    doctor = get_object_or_404(Doctor, user=request.user)
    form = CalendarFeedForm(request.POST or None)
    new_url = ""
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            messages.error(request, form.errors["action"][0])
            status = 400
        elif form.cleaned_data["action"] == CalendarFeedForm.ISSUE:
            token = services.calendar_feed_issue(doctor=doctor)
            new_url = request.build_absolute_uri(reverse("appointments:calendar_feed", args=[token]))
        elif services.calendar_feed_revoke(doctor=doctor):
            messages.success(request, "Your calendar feed is off: its address no longer works.")
        else:
            messages.info(request, "Your calendar feed was already off.")
    response = render(
        request,
        "appointments/calendar_feed.html",
        {
            "feed": selectors.calendar_feed_status(doctor=doctor),
            # Shown once, in the answer to the POST that made it: it is kept nowhere, not even in
            # the session, so the page is rendered here rather than after a redirect.
            "new_url": new_url,
            "webcal_url": new_url.replace("https://", "webcal://", 1).replace("http://", "webcal://", 1),
            "zone": doctor.timezone,
            "portal_tab": "calendar",
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"  # the new address must not stay in the browser's cache
    return response
