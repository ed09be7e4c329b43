from django.http import Http404
from django.urls import path

from appointments import calendar_views, views


def _visit_action(request, pk: int, action: str):
    """Placeholder for the URL contract only: the lifecycle view (start, complete, no-show) comes
    from the `clinical` branch, which replaces this at merge."""
    raise Http404("Not built on this branch.")


app_name = "appointments"

urlpatterns = [
    path("", views.my_appointments, name="list"),
    path("book/<int:slot_id>/", views.book, name="book"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/pay/", views.pay, name="pay"),
    path("<int:pk>/cancel-hold/", views.cancel_hold, name="cancel_hold"),
    path("<int:pk>/paid/", views.paid, name="paid"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/visit/<str:action>/", _visit_action, name="visit_action"),
    path("<int:pk>/calendar.ics", calendar_views.appointment_calendar, name="calendar"),
    path("calendar-feed/", calendar_views.calendar_feed_settings, name="calendar_feed_settings"),
    path("calendar-feed/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
]
