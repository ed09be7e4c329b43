from django.urls import path

from hospital.api import directory

# Ids are taken as text and parsed by the views: one that is not a number is a 400, not a page 404.
urlpatterns = [
    path("specialties/", directory.SpecialtyList.as_view(), name="specialties"),
    path("doctors/", directory.DoctorList.as_view(), name="doctors"),
    path("doctors/<str:doctor_id>/", directory.DoctorDetail.as_view(), name="doctor"),
    path("doctors/<str:doctor_id>/slots/", directory.DoctorSlots.as_view(), name="doctor-slots"),
]
