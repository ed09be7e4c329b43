"""Changing a booked visit: the cancellation preview and the cancel (patient, its doctor, staff),
the patient's reschedule, and the patient's review.

Each view calls the selectors and the service its page calls (appointments/views.py: cancel,
doctor_cancel, staff_cancel, reschedule, review); a service's refusal is a 409 with its message.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from appointments import selectors
from appointments.api.serializers import AppointmentOut, appointment_data
from appointments.forms import CancelVisitForm, ReviewForm
from appointments.models import CANCEL_PERMISSION, Appointment
from appointments.services import BookingError, ReviewError, review_submit
from hospital.api.days import DaysQuery
from hospital.api.errors import refused_as_conflict
from hospital.api.fields import Money, ZonedDateTime, in_zone, money
from hospital.api.form_fields import bound_form, form_errors, from_form
from hospital.api.paths import BAD_ID, PatientsOnly, RoleIn, id_in_path, path_id
from hospital.api.schema import error
from hospital.models import Rating, Slot
from hospital.selectors import FREE_TIMES_DAYS, doctor_free_slots
from payments import selectors as money_selectors
from payments import services as payments
from payments.forms import StaffCancelForm
from payments.patient_labels import payment_status_seen_by

_CHOOSE_SLOT = "Choose one of the doctor's free times."


# -- who may call ------------------------------------------------------------------------------


class MayCancel(RoleIn):
    """The patient, the doctor, or staff whose group may cancel (CANCEL_PERMISSION), as the pages."""

    roles = (Role.PATIENT, Role.DOCTOR, Role.STAFF)

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.user.role != Role.STAFF or request.user.has_perm(CANCEL_PERMISSION)


def _visit(request, raw_id: str, now: dt.datetime) -> Appointment:
    """The appointment as its page reads it; someone else's (or an unknown id) is a 404."""
    return selectors.appointment_detail(
        user=request.user,
        pk=path_id(raw_id),
        payment_status_shown=functools.partial(payment_status_seen_by, user=request.user),
        now=now,
    )


def _appointment_out(request, raw_id: str, now: dt.datetime) -> dict:
    appointment = _visit(request, raw_id, now)
    payment = getattr(appointment, "payment", None)
    shown = payment_status_seen_by(payment.status, request.user) if payment else None
    return appointment_data(appointment, payment_status=shown, sees_money=money_selectors.sees_payments(request.user))


_ID = id_in_path("id", "The appointment's id.")


# -- cancel ------------------------------------------------------------------------------------


class PolicyWindowOut(serializers.Serializer):
    percent = serializers.IntegerField(help_text="The share of what was paid that comes back.")
    amount = Money(allow_null=True, help_text="What that share is (null for doctors and front desk).")
    after = ZonedDateTime(allow_null=True, help_text="Canceling after this time (null: any time since booking) ...")
    until = ZonedDateTime(allow_null=True, help_text="... and by this time (null: up to the start).")


class CancellationOut(serializers.Serializer):
    may_cancel = serializers.BooleanField()
    refusal = serializers.CharField(allow_null=True, help_text="Why the caller may not cancel now, for them.")
    refund = Money(
        allow_null=True,
        help_text="What canceling now gives back: the policy's share for the patient, everything left for "
        "the doctor or staff. Null when the caller may not cancel.",
    )
    refund_percent = serializers.IntegerField(allow_null=True)
    paid = Money(allow_null=True, help_text="What was paid for the visit (null for doctors and front desk).")
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which the times are given.")
    policy = PolicyWindowOut(many=True, help_text="The visit's cancellation policy, copied when it was booked.")


class CancelIn(serializers.Serializer):
    note = from_form(
        CancelVisitForm.base_fields["note"],
        default="",
        allow_blank=True,
        help_text="Why, for the patient (they read it in their e-mail): required from the doctor and staff. "
        "The patient's own cancel takes none, as on the page.",
    )

    def validate_note(self, note: str) -> str:
        """The doctor's and staff's cancel forms decide, as on their pages (CancelVisitForm, StaffCancelForm)."""
        by = self.context["by"]
        if by.role == Role.PATIENT:
            return ""
        form = bound_form(CancelVisitForm if by.role == Role.DOCTOR else StaffCancelForm, {"note": note})
        if not form.is_valid():
            raise serializers.ValidationError(form_errors(form)["note"])
        return form.cleaned_data["note"]


class CanceledOut(serializers.Serializer):
    appointment = AppointmentOut()
    refund = Money(help_text="What is being refunded to the patient's card (0 when the policy gives nothing).")


class Cancellation(APIView):
    permission_classes = [MayCancel]

    @extend_schema(
        operation_id="appointment_cancellation_preview",
        parameters=[_ID],
        responses={200: CancellationOut, 400: BAD_ID},
    )
    def get(self, request, pk: str):
        """What canceling the visit now would give back, whether the caller may, and the visit's policy."""
        now = timezone.now()
        appointment = _visit(request, pk, now)
        payment = getattr(appointment, "payment", None)
        zone = appointment.doctor.timezone
        refusal = money_selectors.cancel_refusal(appointment=appointment, by=request.user, now=now)
        quote = (
            money_selectors.cancellation_quote(appointment=appointment, payment=payment, by=request.user, now=now)
            if payment is not None and not refusal
            else None
        )
        windows = money_selectors.visit_policy_windows(appointment=appointment, payment=payment) if payment else []
        currency = payment.currency if payment else appointment.fee_currency
        # What the cancel itself gives back is told to whoever cancels (as the pages' messages do);
        # what was paid and each window's amount only to those who read payments.
        sees_money = money_selectors.sees_payments(request.user)
        data = {
            "may_cancel": not refusal and quote is not None,
            "refusal": refusal or None,
            "refund": money(quote.amount, quote.currency) if quote else None,
            "refund_percent": quote.percent if quote else None,
            "paid": money(payment.captured_amount, payment.currency) if payment is not None and sees_money else None,
            "time_zone": zone,
            "policy": [
                {
                    "percent": window.percent,
                    "amount": money(window.amount, currency) if sees_money else None,
                    "after": in_zone(window.after, zone),
                    "until": in_zone(window.until, zone),
                }
                for window in windows
            ],
        }
        return Response(CancellationOut(data).data)


class Cancel(APIView):
    permission_classes = [MayCancel]

    @extend_schema(
        operation_id="appointment_cancel",
        parameters=[_ID],
        request=CancelIn,
        responses={
            200: CanceledOut,
            409: error(409, "Not cancelable now (already canceled, or started); the message says why."),
        },
    )
    def post(self, request, pk: str):
        """Cancel a confirmed visit: the patient is refunded by the policy, or in full by its doctor or staff."""
        now = timezone.now()
        appointment = _visit(request, pk, now)
        asked = CancelIn(data=request.data, context={"by": request.user})
        asked.is_valid(raise_exception=True)
        with refused_as_conflict(BookingError):
            quote = payments.appointment_cancel(
                appointment_id=appointment.pk, by=request.user, note=asked.validated_data["note"], now=now
            )
        return Response(
            CanceledOut(
                {"appointment": _appointment_out(request, pk, now), "refund": money(quote.amount, quote.currency)}
            ).data
        )


# -- reschedule --------------------------------------------------------------------------------


class FreeSlotDays(DaysQuery):
    """Days on the doctor's calendar, both included; without them, the times the page offers."""

    default_days = FREE_TIMES_DAYS - 1
    from_help = f"The first day; default today (neither day given: the next {FREE_TIMES_DAYS} days, as the page)."
    to_help = f"The last day, included; default `from` + {FREE_TIMES_DAYS - 1} days."


class FreeSlotOut(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = ZonedDateTime()
    ends_at = ZonedDateTime()


class RescheduleOut(serializers.Serializer):
    may_reschedule = serializers.BooleanField()
    refusal = serializers.CharField(allow_null=True, help_text="Why the visit cannot be moved now, for the patient.")
    closes_at = ZonedDateTime(allow_null=True, help_text="The last moment the visit may be moved online.")
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which the times are given.")
    count = serializers.IntegerField(help_text="How many free times in all (empty when the visit cannot move).")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = FreeSlotOut(many=True, help_text="The same doctor's free times, soonest first.")


class RescheduleIn(serializers.Serializer):
    slot = serializers.PrimaryKeyRelatedField(
        queryset=Slot.objects.all(),
        help_text="One of the free times' `id`.",
        error_messages={"does_not_exist": _CHOOSE_SLOT, "incorrect_type": _CHOOSE_SLOT},
    )


def _free_times_window(days: dict, *, zone: str, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime]:
    """From the asked days (the doctor's midnights) to a span of time; none asked: the page's."""
    if not days["asked"]:
        return None, now + dt.timedelta(days=FREE_TIMES_DAYS)
    tz = ZoneInfo(zone)
    since = dt.datetime.combine(days["first_day"], dt.time(), tz)
    return since, dt.datetime.combine(days["last_day"] + dt.timedelta(days=1), dt.time(), tz)


class Reschedule(generics.GenericAPIView):
    permission_classes = [PatientsOnly]
    serializer_class = RescheduleIn

    @extend_schema(
        operation_id="appointment_reschedule_options",
        parameters=[_ID, FreeSlotDays, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={
            200: RescheduleOut,
            400: error(400, "The id or the days asked for are not valid (YYYY-MM-DD, within two years of today)."),
        },
    )
    def get(self, request, pk: str):
        """Whether the patient may move the visit, until when, and the same doctor's free times."""
        now = timezone.now()
        appointment = _visit(request, pk, now)
        zone = appointment.doctor.timezone
        query = FreeSlotDays(data=request.query_params, zone=ZoneInfo(zone), now=now)
        query.is_valid(raise_exception=True)
        since, until = _free_times_window(query.validated_data, zone=zone, now=now)
        payment = getattr(appointment, "payment", None)
        refusal = (
            money_selectors.reschedule_refusal(appointment=appointment, payment=payment, by=request.user, now=now)
            if payment is not None
            else "This visit cannot be moved."
        )
        slots = (
            Slot.objects.none()
            if refusal
            else doctor_free_slots(doctor=appointment.doctor, since=since, until=until, now=now).only(
                "pk", "starts_at", "ends_at"
            )
        )
        page = self.paginate_queryset(slots)
        listed = self.get_paginated_response(
            [
                {"id": slot.pk, "starts_at": in_zone(slot.starts_at, zone), "ends_at": in_zone(slot.ends_at, zone)}
                for slot in page
            ]
        ).data
        closes_at = money_selectors.reschedule_closes_at(appointment=appointment, payment=payment) if payment else None
        data = {
            "may_reschedule": not refusal,
            "refusal": refusal or None,
            "closes_at": in_zone(closes_at, zone),
            "time_zone": zone,
            **listed,
        }
        return Response(RescheduleOut(data).data)

    @extend_schema(
        operation_id="appointment_reschedule",
        parameters=[_ID],
        request=RescheduleIn,
        responses={
            200: AppointmentOut,
            400: error(400, "No `slot`, or no such time (as the page answers a time it does not offer)."),
            409: error(
                409,
                "The time was taken, is another doctor's or not bookable, or the visit can no longer be moved; "
                "the message says why.",
            ),
        },
    )
    def post(self, request, pk: str):
        """Move the patient's confirmed visit to another free time of the same doctor; they are e-mailed."""
        now = timezone.now()
        appointment = _visit(request, pk, now)
        asked = RescheduleIn(data=request.data)
        asked.is_valid(raise_exception=True)
        payment = getattr(appointment, "payment", None)
        with refused_as_conflict(BookingError):
            refusal = money_selectors.reschedule_refusal(
                appointment=appointment, payment=payment, by=request.user, now=now
            )
            if refusal:  # as the page: the window's refusal before anything about the slot
                raise payments.RescheduleRefused(refusal)
            payments.appointment_reschedule(
                appointment_id=appointment.pk, slot_id=asked.validated_data["slot"].pk, by=request.user, now=now
            )
        return Response(AppointmentOut(_appointment_out(request, pk, now)).data)


# -- review ------------------------------------------------------------------------------------


class ReviewIn(serializers.Serializer):
    # The page's review form (ReviewForm): its ratings, its comment's limit, its messages.
    rating = from_form(
        ReviewForm.base_fields["rating"], help_text=f"{min(Rating.values)} (poor) to {max(Rating.values)} (excellent)."
    )
    comment = from_form(ReviewForm.base_fields["comment"])


class ReviewOut(serializers.Serializer):
    appointment = serializers.IntegerField()
    rating = serializers.IntegerField()
    comment = serializers.CharField(allow_blank=True)
    created_at = ZonedDateTime()
    time_zone = serializers.CharField(help_text="The doctor's IANA zone.")


class ReviewCreate(APIView):
    permission_classes = [PatientsOnly]

    @extend_schema(
        operation_id="appointment_review",
        parameters=[_ID],
        request=ReviewIn,
        responses={
            201: ReviewOut,
            409: error(409, "The visit is not completed and paid, or was rated already; the message says why."),
        },
    )
    def post(self, request, pk: str):
        """Rate the patient's own completed, paid visit, once."""
        appointment = selectors.appointment_for_user(user=request.user, pk=path_id(pk))
        asked = ReviewIn(data=request.data)
        asked.is_valid(raise_exception=True)
        with refused_as_conflict(ReviewError):
            review = review_submit(
                patient=request.user,
                appointment_id=appointment.pk,
                rating=asked.validated_data["rating"],
                comment=asked.validated_data["comment"],
            )
        zone = review.appointment.doctor.timezone
        data = {
            "appointment": appointment.pk,
            "rating": review.rating,
            "comment": review.comment,
            "created_at": in_zone(review.created_at, zone),
            "time_zone": zone,
        }
        return Response(ReviewOut(data).data, status=status.HTTP_201_CREATED)
