import datetime as dt

from django.urls import path, register_converter

from appointments.portal import views


class IsoDateConverter:
    """A calendar day as 2026-06-01; an impossible one (2026-02-30) matches nothing: a 404."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value)  # a ValueError makes the pattern not match

    def to_url(self, value: dt.date) -> str:
        return value.isoformat()


register_converter(IsoDateConverter, "isodate")

app_name = "portal"

urlpatterns = [
    path("", views.day, name="day"),
    path("day/<isodate:day>/", views.day, name="day_on"),
    path("week/", views.week, name="week"),
    path("week/<isodate:day>/", views.week, name="week_of"),
    path("appointments/", views.appointments, name="appointments"),
    path("schedule/", views.schedule_page, name="schedule"),
    path("schedule/hours/", views.hours_add, name="hours_add"),
    path("schedule/hours/<int:pk>/remove/", views.hours_remove, name="hours_remove"),
    path("schedule/time-off/", views.time_off_add, name="time_off_add"),
    path("schedule/time-off/<int:pk>/remove/", views.time_off_remove, name="time_off_remove"),
]
