from django.urls import path

from prescriptions.api import views

urlpatterns = [
    path("visits/<str:visit_id>/prescriptions/", views.VisitPrescriptions.as_view(), name="visit_prescriptions"),
    path("prescriptions/", views.PrescriptionList.as_view(), name="prescriptions"),
    path("prescriptions/<str:prescription_id>/", views.PrescriptionDetail.as_view(), name="prescription"),
    path("prescriptions/<str:prescription_id>/pdf/", views.PrescriptionPdf.as_view(), name="prescription_pdf"),
]
