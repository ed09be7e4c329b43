"""The public directory: specialties, doctors, a doctor's facts and free slots. Anyone may read
it, as anyone may browse the pages (still throttled); the rows come from hospital.selectors,
the same queries as the home, directory and doctor pages."""

import zoneinfo

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from hospital import selectors
from hospital.api.days import DaysQuery
from hospital.api.fields import Money, ZonedDateTime, in_zone, money
from hospital.api.paths import BAD_ID, path_id
from hospital.api.schema import error
from hospital.models import Doctor

# ---- what goes out ----


class SpecialtyOut(serializers.Serializer):
    slug = serializers.CharField(source="specialty__slug", help_text="What `?specialty=` of the doctors list takes.")
    name = serializers.CharField(source="specialty__name")
    description = serializers.CharField(source="specialty__description", allow_blank=True)
    doctor_count = serializers.IntegerField(help_text="Listed doctors in it (always at least one).")


class SpecialtyBrief(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class RatingOut(serializers.Serializer):
    average = serializers.FloatField(help_text="The patients' average, to one decimal, as the pages print it.")
    out_of = serializers.IntegerField(help_text="The top of the scale (5).")
    count = serializers.IntegerField(help_text="How many patients rated a visit.")


class DoctorOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text='As the pages print it: "Dr Aiko Tanaka".')
    specialty = SpecialtyBrief()
    fee = Money(help_text="The consultation fee.")
    slot_minutes = serializers.IntegerField(help_text="How long a visit lasts.")
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which their times are given.")
    rating = RatingOut(allow_null=True, help_text="null until a patient has rated a visit.")
    next_free_at = ZonedDateTime(allow_null=True, help_text="The start of the soonest bookable slot, if any.")


class DoctorDetailOut(DoctorOut):
    bio = serializers.CharField(allow_blank=True)
    listed = serializers.BooleanField(
        help_text="False only for staff, who see unlisted doctors as the page shows them."
    )
    booking_closes_minutes_before_start = serializers.IntegerField(
        help_text="Online booking of a slot closes this many minutes before it starts."
    )


class SlotOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="What a booking names.")
    starts_at = ZonedDateTime()
    ends_at = ZonedDateTime()
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which the times above are given.")


def _rating(row: dict) -> dict | None:
    summary = selectors.rating_summary(review_count=row["review_count"], rating_sum=row["rating_sum"])
    if summary is None:
        return None
    return {"average": float(summary.average_text), "out_of": summary.out_of, "count": row["review_count"]}


def doctor_data(row: dict) -> dict:
    """One row of selectors.doctor_directory (or doctor_profile) as the API shows it."""
    return {
        "id": row["pk"],
        "name": f"Dr {row['user__first_name']} {row['user__last_name']}".rstrip(),  # as Doctor.display_name
        "specialty": {"slug": row["specialty__slug"], "name": row["specialty__name"]},
        "fee": money(row["fee_amount"], row["fee_currency"]),
        "slot_minutes": row["slot_minutes"],
        "time_zone": row["timezone"],
        "rating": _rating(row),
        "next_free_at": in_zone(row["next_free_slot_at"], row["timezone"]),
    }


# ---- what comes in ----


class DirectoryQuery(serializers.Serializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Words of the doctor's name, each matched."
    )
    specialty = serializers.CharField(
        required=False, allow_blank=True, help_text="A specialty's slug (from /specialties/)."
    )
    min_rating = serializers.DecimalField(
        required=False,
        max_digits=2,
        decimal_places=1,
        min_value=1,
        max_value=5,
        help_text="1 to 5 (one decimal allowed): only doctors whose printed average is at least this.",
    )
    sort = serializers.ChoiceField(
        choices=selectors.DIRECTORY_SORTS,
        default="name",
        help_text="name (the default); rating, best first; fee, by currency then amount; next_free, soonest first. "
        "Doctors with no rating or no free slot come last.",
    )

    def validate_specialty(self, slug: str) -> str:
        # The directory page offers (and accepts) the specialties with listed doctors.
        if slug and not selectors.listed_specialties().filter(specialty__slug=slug).exists():
            raise serializers.ValidationError("No specialty with listed doctors has this slug.")
        return slug


DEFAULT_SLOT_DAYS = 7


class SlotDays(DaysQuery):
    default_days = DEFAULT_SLOT_DAYS
    from_help = "The first day; default today."
    to_help = f"The last day, included; default `from` + {DEFAULT_SLOT_DAYS} days."


DOCTOR_ID = OpenApiParameter("doctor_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The doctor's id.")

# ---- the views ----

BAD_FILTER = "A filter's value is not valid (`fields` says which): an unknown specialty, a rating off the scale..."
BAD_DAYS = (
    "The id is not a number, a day is not YYYY-MM-DD or is over two years from today, `to` is before `from`, "
    "or the range is too long."
)


class _Public:
    permission_classes = [AllowAny]


class SpecialtyList(_Public, generics.ListAPIView):
    """Specialties with at least one listed doctor, by name."""

    serializer_class = SpecialtyOut

    @extend_schema(operation_id="directory_specialties")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.listed_specialties()


class DoctorList(_Public, generics.ListAPIView):
    """The directory: listed doctors, filtered and sorted, each with their soonest free slot."""

    serializer_class = DoctorOut

    @extend_schema(
        operation_id="directory_doctors",
        parameters=[DirectoryQuery],
        responses={200: DoctorOut(many=True), 400: error(400, BAD_FILTER)},
    )
    def get(self, request):
        asked = DirectoryQuery(data=request.query_params)
        asked.is_valid(raise_exception=True)
        filters = asked.validated_data
        rows = selectors.doctor_directory(
            search=filters.get("q", ""),
            specialty=filters.get("specialty", ""),
            min_rating=filters.get("min_rating"),
            sort=filters["sort"],
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([doctor_data(row) for row in page])


class DoctorDetail(_Public, APIView):
    @extend_schema(
        operation_id="directory_doctor",
        parameters=[DOCTOR_ID],
        responses={200: DoctorDetailOut, 400: BAD_ID},
    )
    def get(self, request, doctor_id: str):
        """One doctor as their page shows them; unlisted doctors are a 404 (but to staff, as on the page)."""
        row = selectors.doctor_profile(pk=path_id(doctor_id, name="doctor_id"), user=request.user)
        if row is None:
            raise Http404
        return Response(
            {
                **doctor_data(row),
                "bio": row["bio"],
                "listed": row["is_active"],
                "booking_closes_minutes_before_start": settings.BOOKING_CLOSES_MINUTES_BEFORE_START,
            }
        )


class DoctorSlots(_Public, generics.ListAPIView):
    """The doctor's bookable slots, soonest first, on the days asked (days on the doctor's clock)."""

    serializer_class = SlotOut

    @extend_schema(
        operation_id="directory_doctor_slots",
        parameters=[DOCTOR_ID, SlotDays],
        responses={200: SlotOut(many=True), 400: error(400, BAD_DAYS)},
    )
    def get(self, request, doctor_id: str):
        pk = path_id(doctor_id, name="doctor_id")
        doctor = Doctor.objects.visible_to(request.user).filter(pk=pk).only("pk", "timezone").first()
        if doctor is None:
            raise Http404
        asked = SlotDays(data=request.query_params, zone=zoneinfo.ZoneInfo(doctor.timezone))
        asked.is_valid(raise_exception=True)
        days = asked.validated_data
        slots = selectors.doctor_free_slots_on_days(
            doctor=doctor, first_day=days["first_day"], last_day=days["last_day"]
        ).values("pk", "starts_at", "ends_at")
        page = self.paginate_queryset(slots)
        zone = doctor.timezone
        return self.get_paginated_response(
            [
                {
                    "id": slot["pk"],
                    "starts_at": in_zone(slot["starts_at"], zone),
                    "ends_at": in_zone(slot["ends_at"], zone),
                    "time_zone": zone,
                }
                for slot in page
            ]
        )
