"""The patient's appointments and booking: the "My appointments" list, one appointment as its page
shows it, booking a slot (with an Idempotency-Key), resuming payment and giving up an unpaid hold.

Each view calls the same selector or service as its page in appointments/views.py.
"""

import functools

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import get_for_user_or_404
from appointments import selectors
from appointments.api.serializers import API_APPOINTMENT_RELATED, AppointmentOut, appointment_data
from appointments.forms import AppointmentFilterForm, BookingForm
from appointments.models import Appointment
from appointments.services import BookingError
from hospital.api import idempotency
from hospital.api.errors import Conflict, ServiceUnavailable
from hospital.api.fields import ZonedDateTime
from hospital.api.paths import BAD_ID, PatientsOnly, id_in_path, path_id
from hospital.api.schema import Error, error
from hospital.api.throttling import Booking
from payments import selectors as money
from payments import services as payments
from payments.models import PaymentStatus
from payments.patient_labels import payment_status_for_patient, payment_status_seen_by

ALREADY_HELD = "already_held"
_ID = id_in_path("pk", "The appointment's id.")


def _site_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _patients_appointment(user, pk: int) -> Appointment:
    """The caller's own appointment, read for `appointment_data`; anyone else's is a 404."""
    return get_for_user_or_404(Appointment.objects.select_related(*API_APPOINTMENT_RELATED), user=user, pk=pk)


def _out(appointment: Appointment) -> dict:
    """The appointment as its patient reads it (a dispute reads 'paid', a lost one 'refunded')."""
    payment = getattr(appointment, "payment", None)
    return appointment_data(
        appointment, payment_status=payment_status_for_patient(payment.status) if payment else None, sees_money=True
    )


def _choices(name: str) -> list[tuple[str, str]]:
    """A filter's allowed values, from the page's form (its "any" choice is the empty value)."""
    return [(value, label) for value, label in AppointmentFilterForm.base_fields[name].choices if value]


class AppointmentFilters(serializers.Serializer):
    when = serializers.ChoiceField(choices=_choices("when"), required=False, help_text="Default: upcoming.")
    status = serializers.ChoiceField(choices=_choices("status"), required=False)
    payment = serializers.ChoiceField(
        choices=_choices("payment"), required=False, help_text="The payment's status as the patient reads it."
    )
    sort = serializers.ChoiceField(
        choices=_choices("sort"), required=False, help_text="Default: soonest for upcoming, latest for past."
    )


class BookingIn(serializers.Serializer):
    slot = serializers.IntegerField(min_value=1, help_text="A free slot's id (GET /api/v1/doctors/{id}/slots/).")
    reason = serializers.CharField(
        max_length=BookingForm.base_fields["reason"].max_length,
        required=False,
        allow_blank=True,
        default="",
        help_text=BookingForm.base_fields["reason"].help_text,
    )


class Booked(serializers.Serializer):
    appointment = AppointmentOut()
    checkout_url = serializers.URLField(
        allow_null=True, help_text="Send the patient here to pay; null when the payment page could not be opened."
    )
    checkout_error = serializers.CharField(
        allow_null=True,
        help_text="Why there is no checkout_url, for the patient. The slot stays held: POST .../pay/ to try again.",
    )


class CheckoutOut(serializers.Serializer):
    checkout_url = serializers.URLField()


class PlaceOut(serializers.Serializer):
    is_video = serializers.BooleanField()
    label = serializers.CharField(help_text="'In person' or 'Video call'.")
    site = serializers.CharField(allow_blank=True)
    room = serializers.CharField(allow_blank=True)
    video_url = serializers.CharField(
        allow_blank=True, help_text="The link to join, only while it is open (from 10 minutes before the start)."
    )
    video_opens_at = ZonedDateTime(allow_null=True, help_text="When the link will appear.")
    note = serializers.CharField(allow_blank=True, help_text="Why there is no link, for the patient.")


class AppointmentDetailOut(AppointmentOut):
    pay_by = ZonedDateTime(
        allow_null=True, help_text="While payable: when its payment page closes (in the doctor's zone)."
    )
    may_pay = serializers.BooleanField(help_text="POST .../pay/ opens a payment page.")
    may_cancel_hold = serializers.BooleanField(help_text="POST .../cancel-hold/ gives up this unpaid booking.")
    may_cancel = serializers.BooleanField(help_text="The confirmed visit may be canceled now.")
    may_reschedule = serializers.BooleanField(help_text="The confirmed visit may be moved now.")
    last_payment_failure = serializers.CharField(
        allow_null=True, help_text="Why the last card payment failed, for the patient."
    )
    place = PlaceOut(allow_null=True, help_text="Where the visit takes place; null for one that is off.")
    calendar_url = serializers.URLField(allow_null=True, help_text="Its .ics file, while the visit is on.")


def _detail_data(request, appointment: Appointment, *, now) -> dict:
    """What the appointment page offers its patient (appointments/views.py _detail_page)."""
    payment = appointment.payment
    payable = appointment.times.payable
    may_change = money.patient_may_change(appointment=appointment, user=request.user, now=now)
    place = appointment.place
    return {
        **_out(appointment),
        "pay_by": appointment.times.pay_by.iso if appointment.times.pay_by else None,
        "may_pay": payable,
        "may_cancel_hold": payable,
        "may_cancel": may_change.get("cancel", False),
        "may_reschedule": may_change.get("reschedule", False),
        "last_payment_failure": (payment.last_failure_reason or None)
        if payment is not None and payment.status == PaymentStatus.UNPAID
        else None,
        "place": None
        if place is None
        else {
            "is_video": place.is_video,
            "label": str(place.label),
            "site": place.site,
            "room": place.room,
            "video_url": place.video_url,
            "video_opens_at": place.video_opens.iso if place.video_opens else None,
            "note": place.note,
        },
        "calendar_url": request.build_absolute_uri(appointment.calendar_url) if appointment.calendar_url else None,
    }


class AppointmentList(generics.ListAPIView):
    permission_classes = [IsAuthenticated, PatientsOnly]
    serializer_class = AppointmentOut

    def get_throttles(self):
        return [*super().get_throttles(), Booking()] if self.request.method == "POST" else super().get_throttles()

    @extend_schema(
        parameters=[AppointmentFilters],
        responses={200: AppointmentOut, 400: error(400, "A filter's value is not one of those allowed.")},
        operation_id="appointments_list",
    )
    def get(self, request, *args, **kwargs):
        """The caller's appointments, as "My appointments" lists them: upcoming or past, filtered and sorted."""
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        asked = AppointmentFilters(data=self.request.query_params)
        asked.is_valid(raise_exception=True)
        form = AppointmentFilterForm.from_query(asked.validated_data)
        when = asked.validated_data.get("when") or "upcoming"
        return selectors.appointments_for_patient(
            user=self.request.user,
            when=when,
            status=asked.validated_data.get("status", ""),
            payment_statuses=form.payment_statuses,
            sort=asked.validated_data.get("sort") or selectors.default_sort(when=when),
        ).select_related(*API_APPOINTMENT_RELATED)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_out(appointment) for appointment in page])

    @extend_schema(
        request=BookingIn,
        parameters=[idempotency.PARAMETER],
        responses={
            201: Booked,
            409: OpenApiResponse(
                Error,
                description="The slot was taken, booking for it has closed, or the patient has too many unpaid "
                "bookings; `already_held`: the caller holds this slot already (`fields.appointment` is its id); "
                "`request_in_progress`: a request with this Idempotency-Key is still running.",
            ),
            404: error(404, "No such slot, or its doctor is not listed."),
            422: error(422),
        },
        operation_id="appointments_book",
    )
    def post(self, request):
        """Book a slot: it is held while the patient pays on the returned checkout_url."""
        asked = BookingIn(data=request.data)
        asked.is_valid(raise_exception=True)
        return idempotency.once_per_key(self, request, lambda: self._book(request, **asked.validated_data))

    def _book(self, request, *, slot: int, reason: str) -> Response:
        slot = selectors.slot_to_book(slot_id=slot, patient=request.user)  # an unknown or unlisted one: 404
        try:
            appointment = payments.appointment_book(
                patient=request.user, slot_id=slot.pk, reason=reason, site_url=_site_url(request)
            )
        except BookingError as exc:
            if exc.appointment is not None:  # the caller's own live hold on this slot: pay for that one
                return _already_held(exc)
            raise Conflict(str(exc)) from exc
        checkout_url = checkout_error = None
        try:
            checkout_url = payments.checkout_redirect_url(appointment_id=appointment.pk, site_url=_site_url(request))
        except BookingError as exc:  # Stripe slow or down (PaymentUnavailable): the hold stays
            checkout_error = str(exc)
        appointment = _patients_appointment(request.user, appointment.pk)
        return Response(
            {"appointment": _out(appointment), "checkout_url": checkout_url, "checkout_error": checkout_error},
            status=status.HTTP_201_CREATED,
        )


def _already_held(exc: BookingError) -> Response:
    body = {"code": ALREADY_HELD, "message": str(exc), "fields": {"appointment": [str(exc.appointment.pk)]}}
    return Response({"error": body}, status=status.HTTP_409_CONFLICT)


class AppointmentDetail(APIView):
    permission_classes = [IsAuthenticated, PatientsOnly]

    @extend_schema(
        parameters=[_ID], responses={200: AppointmentDetailOut, 400: BAD_ID}, operation_id="appointments_retrieve"
    )
    def get(self, request, pk: str):
        """One of the caller's appointments, with what its page offers: paying, canceling, moving, where it is."""
        now = timezone.now()
        appointment = selectors.appointment_detail(
            user=request.user,
            pk=path_id(pk),
            payment_status_shown=functools.partial(payment_status_seen_by, user=request.user),
            now=now,
        )
        return Response(_detail_data(request, appointment, now=now))


class AppointmentPay(APIView):
    permission_classes = [IsAuthenticated, PatientsOnly]

    @extend_schema(
        request=None,
        responses={
            200: CheckoutOut,
            409: error(409, "Nothing to pay: the appointment is confirmed already, or its hold has lapsed."),
            503: error(503, "The payment provider could not be reached; the slot is still held, try again."),
        },
        operation_id="appointments_pay",
        parameters=[_ID],
    )
    def post(self, request, pk: str):
        """Resume paying for an unpaid booking: a payment page to send the patient to."""
        appointment = selectors.appointment_for_user(user=request.user, pk=path_id(pk))
        try:
            url = payments.checkout_redirect_url(appointment_id=appointment.pk, site_url=_site_url(request))
        except payments.PaymentUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        except BookingError as exc:
            raise Conflict(str(exc)) from exc
        return Response({"checkout_url": url})


class AppointmentCancelHold(APIView):
    permission_classes = [IsAuthenticated, PatientsOnly]

    @extend_schema(
        request=None,
        responses={
            200: AppointmentOut,
            409: error(409, "There is no unpaid hold to cancel (the appointment is paid, or canceled already)."),
            503: error(503, "The payment provider could not be reached, so the hold stays; try again."),
        },
        operation_id="appointments_cancel_hold",
        parameters=[_ID],
    )
    def post(self, request, pk: str):
        """Give up an unpaid booking: its payment page is closed and the slot released; nothing is charged."""
        appointment = selectors.appointment_for_user(user=request.user, pk=path_id(pk))
        try:
            payments.hold_cancel(appointment_id=appointment.pk)
        except payments.PaymentUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        except BookingError as exc:
            raise Conflict(str(exc)) from exc
        return Response(_out(_patients_appointment(request.user, appointment.pk)))
