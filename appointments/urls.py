from django.urls import path

from appointments import calendar_views, views

app_name = "appointments"

urlpatterns = [
    path("", views.my_appointments, name="list"),
    path("book/<int:slot_id>/", views.book, name="book"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/pay/", views.pay, name="pay"),
    path("<int:pk>/cancel-hold/", views.cancel_hold, name="cancel_hold"),
    path("<int:pk>/paid/", views.paid, name="paid"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:pk>/cancel-visit/", views.doctor_cancel, name="doctor_cancel"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/refund/", views.staff_refund, name="staff_refund"),
    path("<int:pk>/staff-cancel/", views.staff_cancel, name="staff_cancel"),
    path("<int:pk>/calendar.ics", calendar_views.appointment_calendar, name="calendar"),
    path("calendar-feed/", calendar_views.calendar_feed_settings, name="calendar_feed_settings"),
    path("calendar-feed/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path("<int:pk>/visit/<str:action>/", views.visit_action, name="visit_action"),
    path("<int:pk>/note/", views.visit_note_save, name="visit_note"),
    path("<int:pk>/note/addenda/", views.visit_note_addendum, name="visit_note_addendum"),
]
