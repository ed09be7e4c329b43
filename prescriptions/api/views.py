"""Prescriptions through the API: the visit's doctor writes one, its doctor and its patient list,
read and download them, as the prescription pages do (prescriptions.views): the same selectors,
the same service, every read and download audited. Staff read prescriptions in the admin only."""

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import get_for_user_or_404
from appointments.api.doctor import DOCTOR_PERMISSIONS, VISIT_ID
from appointments.models import Appointment
from hospital.api.errors import refused_as_conflict
from hospital.api.paths import BAD_ID, DoctorsAndPatients, id_in_path, path_id
from hospital.api.schema import error
from hospital.audit import request_ip
from prescriptions import selectors, services
from prescriptions.api.serializers import (
    PrescriptionIn,
    PrescriptionListItem,
    PrescriptionOut,
    flat_errors,
    prescription_data,
    prescription_row_data,
)
from prescriptions.pdf import prescription_pdf

READERS = [IsAuthenticated, DoctorsAndPatients]
PRESCRIPTION_ID = id_in_path("prescription_id", "The prescription's id.")


@extend_schema(
    parameters=[VISIT_ID],
    request=PrescriptionIn,
    responses={
        201: PrescriptionOut,
        409: error(409, "Not now: the visit is not completed or not paid, or it has a prescription (correct it)."),
    },
)
class VisitPrescriptions(APIView):
    """Issue the visit's prescription (or, with `supersedes`, a correction of its current one)."""

    permission_classes = DOCTOR_PERMISSIONS

    def post(self, request, visit_id: str):
        appointment = get_for_user_or_404(
            Appointment.objects.select_related("doctor"), user=request.user, pk=path_id(visit_id)
        )
        asked = PrescriptionIn(data=request.data, context={"zone": appointment.doctor.timezone, "now": timezone.now()})
        if not asked.is_valid():
            raise serializers.ValidationError(flat_errors(asked.errors))
        data = asked.validated_data
        with refused_as_conflict(services.PrescriptionError):
            prescription = services.prescription_issue(
                doctor_user=request.user,
                appointment_id=appointment.pk,
                items=[dict(item) for item in data["items"]],
                general_advice=data["general_advice"],
                follow_up_on=data["follow_up_on"],
                supersedes_id=data["supersedes"],
                ip=request_ip(request),
            )
        shown = selectors.prescription_page(user=request.user, pk=prescription.pk)
        return Response(PrescriptionOut(prescription_data(shown)).data, status=status.HTTP_201_CREATED)


class PrescriptionList(generics.ListAPIView):
    """The caller's prescriptions, newest first: a patient's own, or those a doctor wrote."""

    permission_classes = READERS
    serializer_class = PrescriptionListItem

    def list(self, request, *args, **kwargs):
        ordered = selectors.prescriptions_for_user(user=request.user)
        ids = self.paginate_queryset(ordered.values_list("pk", flat=True))
        rows = selectors.prescription_rows(ordered.filter(pk__in=ids), viewer=request.user)
        return self.get_paginated_response([prescription_row_data(row) for row in rows])


def _read(request, prescription_id: str, *, downloaded: bool) -> selectors.PrescriptionPage:
    shown = selectors.prescription_page(user=request.user, pk=path_id(prescription_id))
    services.prescription_access_record(
        prescription=shown.prescription, user=request.user, downloaded=downloaded, ip=request_ip(request)
    )
    return shown


@extend_schema(parameters=[PRESCRIPTION_ID])
class PrescriptionDetail(APIView):
    permission_classes = READERS

    @extend_schema(responses={200: PrescriptionOut, 400: BAD_ID})
    def get(self, request, prescription_id: str):
        """One of the caller's prescriptions, as its page shows it; the read is audited."""
        response = Response(PrescriptionOut(prescription_data(_read(request, prescription_id, downloaded=False))).data)
        add_never_cache_headers(response)
        return response


@extend_schema(
    parameters=[PRESCRIPTION_ID],
    responses={
        (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The prescription's PDF."),
        400: BAD_ID,
    },
)
class PrescriptionPdf(APIView):
    """The prescription's PDF, the one its page serves (times on the doctor's clock); audited."""

    permission_classes = READERS

    def perform_content_negotiation(self, request, force=False):
        # The PDF is the answer whatever Accept says; an error is still the API's JSON.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request, prescription_id: str):
        shown = _read(request, prescription_id, downloaded=True)
        pdf = prescription_pdf(shown, verify_url=request.build_absolute_uri(reverse("prescriptions:verify")))
        response = HttpResponse(
            pdf,
            content_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{shown.number}.pdf"'},
        )
        add_never_cache_headers(response)
        return response
