from django.urls import path

from prescriptions import views

app_name = "prescriptions"

urlpatterns = [
    path("", views.prescription_list, name="list"),
    path("verify/", views.prescription_verify, name="verify"),
    path("visit/<int:appointment_id>/write/", views.prescription_write, name="write"),
    path("<int:pk>/", views.prescription_detail, name="detail"),
    path("<int:pk>/pdf/", views.prescription_pdf_download, name="pdf"),
    path("<int:pk>/correct/", views.prescription_correct, name="correct"),
]
