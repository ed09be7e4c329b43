"""The doctor's day: /api/v1/agenda/ and /api/v1/visits/{id}/... (appointments.api.doctor)."""

from django.urls import path

from appointments.api import doctor

urlpatterns = [
    path("agenda/", doctor.Agenda.as_view(), name="agenda"),
    path("visits/<str:visit_id>/", doctor.VisitDetail.as_view(), name="visit"),
    path("visits/<str:visit_id>/start/", doctor.VisitStart.as_view(), name="visit_start"),
    path("visits/<str:visit_id>/complete/", doctor.VisitComplete.as_view(), name="visit_complete"),
    path("visits/<str:visit_id>/no-show/", doctor.VisitNoShow.as_view(), name="visit_no_show"),
    path("visits/<str:visit_id>/note/", doctor.VisitNote.as_view(), name="visit_note"),
    path("visits/<str:visit_id>/note/addenda/", doctor.VisitNoteAddenda.as_view(), name="visit_note_addenda"),
]
