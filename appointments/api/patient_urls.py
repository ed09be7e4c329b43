"""/api/v1/appointments/: the patient's own appointments and booking."""

from django.urls import path

from appointments.api import patient

urlpatterns = [
    path("appointments/", patient.AppointmentList.as_view(), name="patient-appointments"),
    path("appointments/<str:pk>/", patient.AppointmentDetail.as_view(), name="patient-appointment"),
    path("appointments/<str:pk>/pay/", patient.AppointmentPay.as_view(), name="patient-appointment-pay"),
    path(
        "appointments/<str:pk>/cancel-hold/",
        patient.AppointmentCancelHold.as_view(),
        name="patient-appointment-cancel-hold",
    ),
]
