from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("", views.my_appointments, name="list"),
    path("book/<int:slot_id>/", views.book, name="book"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/pay/", views.pay, name="pay"),
    path("<int:pk>/cancel-hold/", views.cancel_hold, name="cancel_hold"),
    path("<int:pk>/paid/", views.paid, name="paid"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/visit/<str:action>/", views.visit_action, name="visit_action"),
    path("<int:pk>/note/", views.visit_note_save, name="visit_note"),
    path("<int:pk>/note/addenda/", views.visit_note_addendum, name="visit_note_addendum"),
]
