"""The doctor's day through the API: their agenda, one visit as their page shows it, the visit's
start / complete / no-show, and its note and addenda.

Each view calls the selector and service the doctor's pages call (appointments.portal.views,
appointments.views), with the same refusals: another doctor's visit is a 404, a forbidden move a
409 with the service's words, and every read of the visit or its note is audited as the page's is.
"""

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments import selectors, services
from appointments.api.serializers import API_APPOINTMENT_RELATED, AppointmentOut, appointment_data
from appointments.forms import AddendumForm, VisitNoteForm
from appointments.models import Appointment, AppointmentStatus
from appointments.portal import selectors as portal
from appointments.services import AppointmentTransitionError, VisitNoteRefused
from appointments.visit_actions import DoctorAction, doctor_actions
from hospital.api.days import DaysQuery
from hospital.api.errors import refused_as_conflict
from hospital.api.fields import ZonedDateTime, in_zone
from hospital.api.form_fields import from_form
from hospital.api.paths import BAD_ID, DoctorsOnly, id_in_path, path_id
from hospital.api.schema import error
from hospital.audit import request_ip
from payments.patient_labels import payment_status_seen_by
from prescriptions.selectors import PrescriptionRow, prescriptions_for_appointment

# How an API read names itself in the audit log (the pages say "on the appointment page").
AUDITED_AS = "through the API"


DOCTOR_PERMISSIONS = [IsAuthenticated, DoctorsOnly]


VISIT_ID = id_in_path("visit_id", "The appointment's id.")


def _doctor_of(user):
    doctor = portal.doctor_for(user)
    if doctor is None:  # a doctor account staff have not given a profile yet, as the portal answers
        raise Http404("This account has no doctor profile yet.")
    return doctor


def _payment_status(appointment: Appointment, user) -> str | None:
    payment = getattr(appointment, "payment", None)
    return payment_status_seen_by(payment.status, user=user).value if payment is not None else None


# -- the agenda -----------------------------------------------------------------------------------


class AgendaDays(DaysQuery):
    """?date=YYYY-MM-DD, or ?from=&to= (both included, at most 31 days); neither: today."""

    default_days = None  # `from` and `to` go together
    offers_date = True
    date_help = "One day of the doctor's calendar (default: today)."
    from_help = "The first day of a span, with `to`."
    to_help = "The span's last day, included."


class PatientBrief(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AgendaVisit(AppointmentOut):
    patient = PatientBrief()
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=DoctorAction.choices),
        help_text="What the doctor may do to the visit now (POST /visits/{id}/<action>/, no_show as no-show).",
    )


def _patient_name(user) -> str:
    return user.get_full_name() or user.email


def agenda_row(appointment: Appointment, *, user, now: dt.datetime) -> dict:
    return {
        **appointment_data(appointment, payment_status=_payment_status(appointment, user), sees_money=False),
        "patient": {"id": appointment.patient_id, "name": _patient_name(appointment.patient)},
        "actions": [
            action.value
            for action in doctor_actions(
                status=appointment.status, starts_at=appointment.slot.starts_at, is_paid=appointment.paid, now=now
            )
        ],
    }


@extend_schema(
    parameters=[AgendaDays],
    responses={
        200: AgendaVisit,
        400: error(
            400, "A day that is not a date or is over two years from today, or a span without an end or too long."
        ),
    },
)
class Agenda(generics.ListAPIView):
    """The calling doctor's visits on a day, or on a span of days, of their own calendar, as the
    portal's day and week pages show them (a canceled or lapsed booking leaves its time free)."""

    permission_classes = DOCTOR_PERMISSIONS
    serializer_class = AgendaVisit

    def list(self, request, *args, **kwargs):
        doctor, now = _doctor_of(request.user), timezone.now()
        asked = AgendaDays(data=request.query_params, zone=ZoneInfo(doctor.timezone), now=now)
        asked.is_valid(raise_exception=True)
        days = asked.validated_data
        visits = portal.doctor_agenda(
            doctor=doctor, first_day=days["first_day"], last_day=days["last_day"], now=now
        ).select_related(*API_APPOINTMENT_RELATED, "patient")
        page = self.paginate_queryset(visits)
        return self.get_paginated_response([agenda_row(visit, user=request.user, now=now) for visit in page])


# -- one visit --------------------------------------------------------------------------------------


class PatientOnVisit(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    age = serializers.IntegerField(allow_null=True, help_text="In years on the visit's day; null when not on record.")
    date_of_birth = serializers.DateField(allow_null=True)


class AddendumOut(serializers.Serializer):
    text = serializers.CharField()
    author = serializers.CharField()
    signed_at = ZonedDateTime()


class NoteOut(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, help_text="Empty before the first save.")
    signed = serializers.BooleanField(help_text="Signed when the visit completed: from then on it never changes.")
    signed_at = ZonedDateTime(allow_null=True)
    signed_by = serializers.CharField(allow_null=True)
    updated_at = ZonedDateTime(allow_null=True, help_text="The draft's last save; null before the first.")
    time_zone = serializers.CharField()
    can_edit = serializers.BooleanField(help_text="Whether PUT may change it now (while the visit is in progress).")
    can_add_addendum = serializers.BooleanField()
    addenda = AddendumOut(many=True)


class EarlierVisitOut(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = ZonedDateTime()
    status = serializers.ChoiceField(choices=AppointmentStatus.choices)


class PrescriptionBrief(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    issued_at = ZonedDateTime()
    status = serializers.CharField(help_text="current, or superseded once a correction replaced it.")


class VisitOut(serializers.Serializer):
    appointment = AppointmentOut()
    patient = PatientOnVisit()
    is_paid = serializers.BooleanField()
    actions = serializers.ListField(child=serializers.ChoiceField(choices=DoctorAction.choices))
    start_opens = serializers.CharField(allow_blank=True, help_text="Why the visit cannot start yet, if it cannot.")
    note = NoteOut()
    earlier_visits = EarlierVisitOut(many=True, help_text="The patient's earlier visits with this doctor.")
    prescriptions = PrescriptionBrief(many=True)
    prescription_refusal = serializers.CharField(
        allow_blank=True, help_text="Why no prescription can be written for the visit now; empty when one can."
    )


def _read_visit(request, pk: int) -> selectors.DoctorVisit:
    return selectors.doctor_visit(
        user=request.user, pk=pk, payment_status_shown=functools.partial(payment_status_seen_by, user=request.user)
    )


def note_data(visit: selectors.DoctorVisit) -> dict:
    note, zone = visit.note, visit.appointment.doctor.timezone
    return {
        "text": note.text if note else "",
        "signed": bool(note and note.is_signed),
        "signed_at": in_zone(note.signed_at, zone) if note else None,
        "signed_by": note.signed_by.get_full_name() if note and note.signed_by else None,
        "updated_at": in_zone(note.updated_at, zone) if note else None,
        "time_zone": zone,
        "can_edit": visit.can_write_note,
        "can_add_addendum": visit.can_add_addendum,
        "addenda": [
            {"text": addendum.text, "author": addendum.author, "signed_at": addendum.at.iso}
            for addendum in visit.addenda
        ],
    }


def _prescription_brief(row: PrescriptionRow) -> dict:
    return {"id": row.pk, "number": row.number, "issued_at": row.issued_iso, "status": row.status.label.lower()}


def visit_data(visit: selectors.DoctorVisit, *, user) -> dict:
    appointment = visit.appointment
    profile = getattr(appointment.patient, "patient_profile", None)
    section = prescriptions_for_appointment(appointment=appointment, user=user)
    return {
        "appointment": appointment_data(
            appointment, payment_status=_payment_status(appointment, user), sees_money=False
        ),
        "patient": {
            "id": appointment.patient_id,
            "name": visit.patient_name,
            "age": visit.age,
            "date_of_birth": profile.date_of_birth if profile else None,
        },
        "is_paid": visit.is_paid,
        "actions": [offered.action.value for offered in visit.actions],
        "start_opens": visit.start_opens,
        "note": note_data(visit),
        "earlier_visits": [
            {"id": earlier.pk, "starts_at": earlier.iso, "status": earlier.status} for earlier in visit.earlier
        ],
        "prescriptions": [_prescription_brief(row) for row in section.rows],
        "prescription_refusal": section.refusal,
    }


@extend_schema(parameters=[VISIT_ID])
class VisitDetail(APIView):
    permission_classes = DOCTOR_PERMISSIONS

    @extend_schema(responses={200: VisitOut, 400: BAD_ID})
    def get(self, request, visit_id: str):
        """One of the calling doctor's visits as their appointment page shows it; the read is audited."""
        visit = _read_visit(request, path_id(visit_id))
        services.visit_record_doctor_read(
            doctor=request.user,
            appointment=visit.appointment,
            note=visit.note,
            addenda=len(visit.addenda),
            ip=request_ip(request),
            where=AUDITED_AS,
        )
        return Response(VisitOut(visit_data(visit, user=request.user)).data)


# -- start, complete, no-show ----------------------------------------------------------------------


class CompleteIn(serializers.Serializer):
    # As the page's "Sign and complete" sends its note form; without `note` the draft is signed as saved.
    note = from_form(
        VisitNoteForm.base_fields["text"],
        required=False,
        help_text="The note's last words, saved and signed with the completion (the page's 'Sign and complete').",
    )


def _moved(request, pk: int) -> Response:
    appointment = selectors.appointment_detail(
        user=request.user, pk=pk, payment_status_shown=functools.partial(payment_status_seen_by, user=request.user)
    )
    data = appointment_data(appointment, payment_status=_payment_status(appointment, request.user), sees_money=False)
    return Response(AppointmentOut(data).data)


def _act(request, visit_id: str, act) -> Response:
    appointment = selectors.appointment_for_user(user=request.user, pk=path_id(visit_id))
    try:
        with refused_as_conflict(AppointmentTransitionError):
            act(appointment.pk)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment.") from None
    return _moved(request, appointment.pk)


REFUSED_MOVE = "The visit's present state or time does not allow it (e.g. too early, or already completed)."


@extend_schema(parameters=[VISIT_ID], request=None, responses={200: AppointmentOut, 409: error(409, REFUSED_MOVE)})
class VisitStart(APIView):
    """Start a confirmed, paid visit (from 15 minutes before its time); its note opens."""

    permission_classes = DOCTOR_PERMISSIONS

    def post(self, request, visit_id: str):
        return _act(request, visit_id, lambda pk: services.appointment_start(appointment_id=pk, doctor=request.user))


@extend_schema(parameters=[VISIT_ID], request=None, responses={200: AppointmentOut, 409: error(409, REFUSED_MOVE)})
class VisitNoShow(APIView):
    """Mark a confirmed visit as a no-show, once its time has come."""

    permission_classes = DOCTOR_PERMISSIONS

    def post(self, request, visit_id: str):
        return _act(
            request, visit_id, lambda pk: services.appointment_mark_no_show(appointment_id=pk, doctor=request.user)
        )


@extend_schema(
    parameters=[VISIT_ID], request=CompleteIn, responses={200: AppointmentOut, 409: error(409, REFUSED_MOVE)}
)
class VisitComplete(APIView):
    """Complete a visit in progress, signing its note (with `note`: its last words first)."""

    permission_classes = DOCTOR_PERMISSIONS

    def post(self, request, visit_id: str):
        asked = CompleteIn(data=request.data)
        asked.is_valid(raise_exception=True)
        return _act(
            request,
            visit_id,
            lambda pk: services.appointment_complete(
                appointment_id=pk,
                doctor=request.user,
                note_text=asked.validated_data.get("note"),
                ip=request_ip(request),
            ),
        )


# -- the note and its addenda --------------------------------------------------------------------


class NoteIn(serializers.Serializer):
    # The page's note form (VisitNoteForm): its limit, its messages.
    text = from_form(VisitNoteForm.base_fields["text"], required=True)


class AddendumIn(serializers.Serializer):
    # The page's addendum form (AddendumForm): required, its limit, its messages.
    text = from_form(AddendumForm.base_fields["text"])


def _write(request, visit_id: str, write, text: str):
    appointment = selectors.appointment_for_user(user=request.user, pk=path_id(visit_id))
    try:
        with refused_as_conflict(VisitNoteRefused):
            written = write(appointment_id=appointment.pk, doctor=request.user, text=text, ip=request_ip(request))
    except Appointment.DoesNotExist:
        raise Http404("No such appointment.") from None
    return appointment, written


@extend_schema(parameters=[VISIT_ID])
class VisitNote(APIView):
    permission_classes = DOCTOR_PERMISSIONS

    @extend_schema(responses={200: NoteOut, 400: BAD_ID})
    def get(self, request, visit_id: str):
        """The visit's note (a draft, or signed with its addenda); reading it is audited."""
        visit = _read_visit(request, path_id(visit_id))
        if visit.note is not None:
            services.visit_note_record_read(
                doctor=request.user,
                appointment=visit.appointment,
                note=visit.note,
                addenda=len(visit.addenda),
                ip=request_ip(request),
                where=AUDITED_AS,
            )
        return Response(NoteOut(note_data(visit)).data)

    @extend_schema(
        request=NoteIn,
        responses={
            200: NoteOut,
            409: error(409, "The note is signed (add an addendum), or the visit has not started."),
        },
    )
    def put(self, request, visit_id: str):
        """Save the draft note of a visit in progress."""
        asked = NoteIn(data=request.data)
        asked.is_valid(raise_exception=True)
        appointment, _ = _write(request, visit_id, services.visit_note_save_draft, asked.validated_data["text"])
        return Response(NoteOut(note_data(_read_visit(request, appointment.pk))).data)


@extend_schema(
    parameters=[VISIT_ID],
    request=AddendumIn,
    responses={201: AddendumOut, 409: error(409, "The visit's note is not signed yet (it is on completion).")},
)
class VisitNoteAddenda(APIView):
    """Add a signed, dated addendum to the visit's signed note."""

    permission_classes = DOCTOR_PERMISSIONS

    def post(self, request, visit_id: str):
        asked = AddendumIn(data=request.data)
        asked.is_valid(raise_exception=True)
        appointment, addendum = _write(
            request, visit_id, services.visit_note_add_addendum, asked.validated_data["text"]
        )
        zone = appointment.doctor.timezone
        return Response(
            AddendumOut(
                {
                    "text": addendum.text,
                    "author": addendum.author.get_full_name(),
                    "signed_at": in_zone(addendum.signed_at, zone),
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )
