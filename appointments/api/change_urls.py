"""Cancel, reschedule and review of one appointment (appointments/api/changes.py).

The id is taken as text and parsed by the view: one that is not a number is a 400 in the API's
error shape, not the site's HTML 404 for an unknown address."""

from django.urls import path

from appointments.api import changes

urlpatterns = [
    path("appointments/<str:pk>/cancellation/", changes.Cancellation.as_view(), name="appointment-cancellation"),
    path("appointments/<str:pk>/cancel/", changes.Cancel.as_view(), name="appointment-cancel"),
    path("appointments/<str:pk>/reschedule/", changes.Reschedule.as_view(), name="appointment-reschedule"),
    path("appointments/<str:pk>/review/", changes.ReviewCreate.as_view(), name="appointment-review"),
]
