"""The public directory in the API: specialties, doctors (filters, sorts), one doctor, free slots.

Times are on the doctor's clock with its offset (the Tokyo doctors' end in +09:00); what is
bookable is what the pages offer (Slot.objects.bookable); lists cost the same queries however
many rows they hold."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from appointments.services import review_submit
from hospital.models import Doctor, Slot
from tests.api.matrix import ROLES, Row, check_row
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, SpecialtyFactory, UserFactory, hold_slot, visit

pytestmark = pytest.mark.django_db

# 06:00 UTC is 15:00 in Tokyo: "today" there is 1 June too.
NOW = dt.datetime(2026, 6, 1, 6, tzinfo=dt.UTC)
TOKYO = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def doctor_named(first: str, last: str, **kwargs) -> Doctor:
    return DoctorFactory(user=UserFactory(first_name=first, last_name=last, role="doctor"), **kwargs)


def rated(doctor: Doctor, *, count: int, total: int) -> Doctor:
    Doctor.objects.filter(pk=doctor.pk).update(review_count=count, rating_sum=total)
    return doctor


def slot_at(doctor: Doctor, starts_at: dt.datetime, **kwargs) -> Slot:
    return SlotFactory(doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30), **kwargs)


def get(path: str, **params):
    return APIClient().get(path, params)


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [doctor["name"] for doctor in response.json()["results"]]


# ---- every endpoint x every role: the directory is public ----

EVERYONE = dict.fromkeys(ROLES, 200)

ROWS = [
    Row("get", lambda w: "/api/v1/specialties/", EVERYONE),
    Row("get", lambda w: "/api/v1/doctors/", EVERYONE),
    Row("get", lambda w: f"/api/v1/doctors/{w.doctor.pk}/", EVERYONE),
    Row("get", lambda w: f"/api/v1/doctors/{w.doctor.pk}/slots/", EVERYONE),
]


@pytest.mark.parametrize("row", ROWS, ids=["specialties", "doctors", "doctor", "slots"])
def test_directory_permissions(world, api_as, row):
    check_row(world, row, api_as)


def test_an_unknown_or_unlisted_doctor_is_a_404_but_staff_see_the_unlisted_as_on_the_page(world, api_as):
    unlisted = DoctorFactory(is_active=False)
    for path in ("/api/v1/doctors/{}/", "/api/v1/doctors/{}/slots/"):
        for pk in (unlisted.pk, unlisted.pk + 1000, 10**30):
            for role in ("anonymous", "patient", "doctor"):
                response = api_as(role).get(path.format(pk))
                assert response.status_code == 404, (path, pk, role)
                assert response.json()["error"]["code"] == "not_found"
        assert api_as("staff").get(path.format(unlisted.pk)).status_code == 200
    assert api_as("staff").get(f"/api/v1/doctors/{unlisted.pk}/").json()["listed"] is False
    assert api_as("patient").get(f"/api/v1/doctors/{world.doctor.pk}/").json()["listed"] is True


@pytest.mark.parametrize("doctor_id", ["abc", "1.5", "-3", "١٢"])
def test_a_doctor_id_that_is_not_a_number_is_a_400(doctor_id):
    for path in (f"/api/v1/doctors/{doctor_id}/", f"/api/v1/doctors/{doctor_id}/slots/"):
        response = get(path)
        assert response.status_code == 400, path
        assert response.json()["error"]["fields"] == {"doctor_id": ["Not a valid id: a whole number is expected."]}


# ---- specialties ----


def test_specialties_are_those_with_listed_doctors_with_their_counts():
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology", description="Hearts. " * 30)
    dermatology = SpecialtyFactory(name="Dermatology", slug="dermatology")
    DoctorFactory.create_batch(2, specialty=cardiology)
    DoctorFactory(specialty=cardiology, is_active=False)
    DoctorFactory(specialty=dermatology, is_active=False)  # no listed doctor: not offered
    SpecialtyFactory(name="Empty")

    response = get("/api/v1/specialties/")
    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {"slug": "cardiology", "name": "Cardiology", "description": "Hearts. " * 29 + "Hearts. ", "doctor_count": 2}
        ],
    }


def test_specialties_cost_the_same_queries_for_2_and_12():
    def queries_with(count: int) -> int:
        for _ in range(count - Doctor.objects.values("specialty").distinct().count()):
            DoctorFactory()
        with CaptureQueriesContext(connection) as queries:
            response = get("/api/v1/specialties/", page_size=50)
        assert response.json()["count"] == count
        return len(queries)

    assert queries_with(2) == queries_with(12)


# ---- the directory ----


def test_a_doctor_in_the_directory_with_fee_zone_rating_and_next_free_time():
    doctor = rated(
        doctor_named("Aiko", "Tanaka", timezone="Asia/Tokyo", fee_currency="jpy", fee_amount=8000,
                     specialty=SpecialtyFactory(name="Cardiology", slug="cardiology")),
        count=23, total=108,
    )  # fmt: skip
    slot_at(doctor, NOW + dt.timedelta(minutes=30))  # within the hour before: booking has closed
    slot_at(doctor, NOW + dt.timedelta(hours=2), is_blocked=True)
    hold_slot(patient=PatientFactory(), slot=slot_at(doctor, NOW + dt.timedelta(hours=3)), now=NOW)
    visit(doctor=doctor, starts_at=NOW + dt.timedelta(hours=4))
    slot_at(doctor, NOW + dt.timedelta(hours=5))  # 20:00 in Tokyo: the first one bookable
    slot_at(doctor, NOW + dt.timedelta(hours=6))
    DoctorFactory(is_active=False)

    response = get("/api/v1/doctors/")
    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": doctor.pk,
                "name": "Dr Aiko Tanaka",
                "specialty": {"slug": "cardiology", "name": "Cardiology"},
                "fee": {"amount": 8000, "currency": "jpy"},
                "slot_minutes": 30,
                "time_zone": "Asia/Tokyo",
                "rating": {"average": 4.7, "out_of": 5, "count": 23},
                "next_free_at": "2026-06-01T20:00:00+09:00",
            }
        ],
    }


def test_a_doctor_with_no_reviews_and_no_free_slot_has_nulls():
    doctor = DoctorFactory()
    (row,) = get("/api/v1/doctors/").json()["results"]
    assert (row["id"], row["rating"], row["next_free_at"]) == (doctor.pk, None, None)


def test_the_directory_filters_by_name_words_and_specialty():
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    doctor_named("Aiko", "Tanaka", specialty=cardiology)
    doctor_named("Ben", "Tanaka")
    doctor_named("Aiko", "Mori", specialty=cardiology)

    assert names(get("/api/v1/doctors/", q="tanaka")) == ["Dr Aiko Tanaka", "Dr Ben Tanaka"]
    assert names(get("/api/v1/doctors/", q="aiko TANAKA")) == ["Dr Aiko Tanaka"]
    assert names(get("/api/v1/doctors/", specialty="cardiology")) == ["Dr Aiko Mori", "Dr Aiko Tanaka"]
    assert names(get("/api/v1/doctors/", specialty="cardiology", q="Tanaka")) == ["Dr Aiko Tanaka"]
    assert names(get("/api/v1/doctors/", q="", specialty="")) == ["Dr Aiko Mori", "Dr Aiko Tanaka", "Dr Ben Tanaka"]


def test_min_rating_compares_the_average_as_printed():
    rated(doctor_named("Ann", "Four"), count=20, total=79)  # 3.95: printed 4.0
    rated(doctor_named("Bob", "Three"), count=50, total=197)  # 3.94: printed 3.9
    rated(doctor_named("Cat", "Five"), count=1, total=5)
    doctor_named("Dan", "None")

    assert names(get("/api/v1/doctors/", min_rating="4")) == ["Dr Cat Five", "Dr Ann Four"]
    assert names(get("/api/v1/doctors/", min_rating="3.9")) == ["Dr Cat Five", "Dr Ann Four", "Dr Bob Three"]
    assert names(get("/api/v1/doctors/", min_rating="5.0")) == ["Dr Cat Five"]
    assert names(get("/api/v1/doctors/", min_rating="1")) == ["Dr Cat Five", "Dr Ann Four", "Dr Bob Three"]
    shown = get("/api/v1/doctors/", min_rating="4").json()["results"]
    assert [row["rating"]["average"] for row in shown] == [5.0, 4.0]


def test_the_directory_sorts_by_name_rating_fee_and_next_free_time():
    cheap = rated(doctor_named("Ann", "Zed", fee_amount=3000), count=2, total=6)
    dear = rated(doctor_named("Bob", "Young", fee_amount=9000), count=4, total=18)
    yen = doctor_named("Cat", "Xu", fee_currency="jpy", fee_amount=500, timezone="Asia/Tokyo")
    equal = rated(doctor_named("Dan", "Will", fee_amount=3000), count=1, total=3)
    slot_at(dear, NOW + dt.timedelta(hours=30))
    slot_at(yen, NOW + dt.timedelta(hours=3))
    slot_at(cheap, NOW + dt.timedelta(hours=10))

    def order(sort: str) -> list[int]:
        response = get("/api/v1/doctors/", sort=sort)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert order("name") == [equal.pk, yen.pk, dear.pk, cheap.pk]  # by last name
    assert get("/api/v1/doctors/").json()["results"][0]["id"] == equal.pk  # name is the default
    # 4.5 first; 3.0 with two reviews before 3.0 with one; no reviews last
    assert order("rating") == [dear.pk, cheap.pk, equal.pk, yen.pk]
    # by currency, then amount, ties by name: yen are not compared with dollars
    assert order("fee") == [yen.pk, equal.pk, cheap.pk, dear.pk]
    assert order("next_free") == [yen.pk, cheap.pk, dear.pk, equal.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"specialty": "astrology"}, "specialty"),
        ({"min_rating": "0"}, "min_rating"),
        ({"min_rating": "6"}, "min_rating"),
        ({"min_rating": "4.25"}, "min_rating"),
        ({"min_rating": "lots"}, "min_rating"),
        ({"sort": "price"}, "sort"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_an_invalid_filter_is_a_400_naming_it(params, field):
    DoctorFactory(specialty=SpecialtyFactory(name="Cardiology", slug="cardiology"))
    response = get("/api/v1/doctors/", **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("invalid", [field])


def test_a_specialty_with_only_unlisted_doctors_is_refused_as_on_the_page():
    DoctorFactory(specialty=SpecialtyFactory(name="Cardiology", slug="cardiology"), is_active=False)
    response = get("/api/v1/doctors/", specialty="cardiology")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"specialty": ["No specialty with listed doctors has this slug."]}


@pytest.mark.parametrize("sort", ["name", "rating", "fee", "next_free"])
def test_the_directory_costs_the_same_queries_for_2_and_12_doctors(sort):
    def queries_with(count: int) -> int:
        while Doctor.objects.count() < count:
            doctor = rated(DoctorFactory(timezone="Asia/Tokyo"), count=2, total=9)
            for hours in (2, 3, 4):
                slot_at(doctor, NOW + dt.timedelta(hours=hours))
        with CaptureQueriesContext(connection) as queries:
            response = get("/api/v1/doctors/", sort=sort, min_rating="1", page_size=50)
        assert response.json()["count"] == count
        assert all(row["next_free_at"].endswith("+09:00") for row in response.json()["results"])
        return len(queries)

    assert queries_with(2) == queries_with(12)


def test_the_directory_is_paginated():
    for last in "ABCDE":
        doctor_named("Doc", last)
    first = get("/api/v1/doctors/", page_size=2).json()
    assert first["count"] == 5
    assert [row["name"] for row in first["results"]] == ["Dr Doc A", "Dr Doc B"]
    assert first["next"].endswith("page=2&page_size=2")
    assert names(get("/api/v1/doctors/", page_size=2, page=3)) == ["Dr Doc E"]


# ---- one doctor ----


def test_one_doctor_with_the_facts_of_their_page_and_no_review_text():
    doctor = doctor_named(
        "Aiko", "Tanaka", timezone="Asia/Tokyo", fee_currency="jpy", fee_amount=8000, bio="Heart rhythms.",
        specialty=SpecialtyFactory(name="Cardiology", slug="cardiology"),
    )  # fmt: skip
    appointment = visit(status="completed", doctor=doctor, starts_at=NOW - dt.timedelta(days=2))
    review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=4, comment="Private words")
    slot_at(doctor, dt.datetime(2026, 6, 2, 9, tzinfo=TOKYO))

    response = get(f"/api/v1/doctors/{doctor.pk}/")
    assert response.status_code == 200
    assert response.json() == {
        "id": doctor.pk,
        "name": "Dr Aiko Tanaka",
        "specialty": {"slug": "cardiology", "name": "Cardiology"},
        "fee": {"amount": 8000, "currency": "jpy"},
        "slot_minutes": 30,
        "time_zone": "Asia/Tokyo",
        "rating": {"average": 4.0, "out_of": 5, "count": 1},
        "next_free_at": "2026-06-02T09:00:00+09:00",
        "bio": "Heart rhythms.",
        "listed": True,
        "booking_closes_minutes_before_start": 60,
    }
    # The review form promises "other patients see the average rating alone".
    assert "Private words" not in response.content.decode()
    assert "Private words" not in get("/api/v1/doctors/").content.decode()


def test_one_doctor_is_one_query():
    doctor = DoctorFactory()
    SlotFactory.create_batch(5, doctor=doctor)
    with CaptureQueriesContext(connection) as queries:
        assert get(f"/api/v1/doctors/{doctor.pk}/").status_code == 200
    assert len(queries) == 1


# ---- free slots ----


@pytest.fixture
def tokyo_doctor() -> Doctor:
    return DoctorFactory(timezone="Asia/Tokyo", fee_currency="jpy", fee_amount=8000)


def starts(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [slot["starts_at"] for slot in response.json()["results"]]


def test_free_slots_are_the_bookable_ones_on_the_doctors_clock(tokyo_doctor):
    slot_at(tokyo_doctor, NOW + dt.timedelta(minutes=50))  # booking has closed
    slot_at(tokyo_doctor, NOW + dt.timedelta(hours=2), is_blocked=True)
    hold_slot(patient=PatientFactory(), slot=slot_at(tokyo_doctor, NOW + dt.timedelta(hours=3)), now=NOW)
    visit(doctor=tokyo_doctor, starts_at=NOW + dt.timedelta(hours=4))
    free = slot_at(tokyo_doctor, NOW + dt.timedelta(hours=5))
    slot_at(DoctorFactory(timezone="Asia/Tokyo"), NOW + dt.timedelta(hours=5))  # another doctor's

    response = get(f"/api/v1/doctors/{tokyo_doctor.pk}/slots/")
    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": free.pk,
                "starts_at": "2026-06-01T20:00:00+09:00",
                "ends_at": "2026-06-01T20:30:00+09:00",
                "time_zone": "Asia/Tokyo",
            }
        ],
    }


def test_a_lapsed_hold_frees_its_slot_again(tokyo_doctor):
    slot = slot_at(tokyo_doctor, NOW + dt.timedelta(days=1))
    hold_slot(patient=PatientFactory(), slot=slot, now=NOW)
    assert starts(get(f"/api/v1/doctors/{tokyo_doctor.pk}/slots/")) == []
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert starts(get(f"/api/v1/doctors/{tokyo_doctor.pk}/slots/")) == ["2026-06-02T15:00:00+09:00"]


def test_the_days_are_the_doctors_and_the_default_is_today_and_seven_more(tokyo_doctor):
    # Tokyo days: 1 June began at 15:00 UTC on 31 May.
    for local in [
        dt.datetime(2026, 6, 1, 23, 30),
        dt.datetime(2026, 6, 2, 0, 0),
        dt.datetime(2026, 6, 2, 23, 30),  # 14:30 UTC on 2 June
        dt.datetime(2026, 6, 3, 0, 0),
        dt.datetime(2026, 6, 8, 23, 30),
        dt.datetime(2026, 6, 9, 0, 0),
    ]:
        slot_at(tokyo_doctor, local.replace(tzinfo=TOKYO))
    url = f"/api/v1/doctors/{tokyo_doctor.pk}/slots/"

    assert starts(get(url, **{"from": "2026-06-02", "to": "2026-06-02"})) == [
        "2026-06-02T00:00:00+09:00",
        "2026-06-02T23:30:00+09:00",
    ]
    assert starts(get(url, to="2026-06-01")) == ["2026-06-01T23:30:00+09:00"]
    assert starts(get(url))[0] == "2026-06-01T23:30:00+09:00"
    assert starts(get(url))[-1] == "2026-06-08T23:30:00+09:00"  # 1 June + 7 days, not 9 June
    assert starts(get(url, **{"from": "2026-06-08"})) == ["2026-06-08T23:30:00+09:00", "2026-06-09T00:00:00+09:00"]


def test_today_is_the_doctors_today(tokyo_doctor):
    # 20:00 UTC on 1 June is 05:00 on 2 June in Tokyo: a week from there reaches 9 June.
    slot_at(tokyo_doctor, dt.datetime(2026, 6, 9, 12, tzinfo=TOKYO))
    with time_machine.travel(dt.datetime(2026, 6, 1, 20, tzinfo=dt.UTC), tick=False):
        assert starts(get(f"/api/v1/doctors/{tokyo_doctor.pk}/slots/")) == ["2026-06-09T12:00:00+09:00"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-06-05", "to": "2026-06-04"}, "to"),
        ({"from": "2026-06-01", "to": "2026-07-02"}, "to"),  # 32 days
        ({"to": "2026-05-31"}, "to"),  # before today, the default first day
        ({"from": "tomorrow"}, "from"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "2026-6-1x"}, "to"),
    ],
)
def test_bad_days_are_a_400_naming_the_field(tokyo_doctor, params, field):
    response = get(f"/api/v1/doctors/{tokyo_doctor.pk}/slots/", **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("invalid", [field])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "9999-12-31"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "2026-06-01"}, "from"),
        ({"from": "2028-06-02"}, "from"),  # today (1 June 2026 in Tokyo) + 2 years + 1 day
        ({"from": "2024-05-31", "to": "2024-06-01"}, "from"),  # 2 years and a day before today
    ],
)
def test_days_far_from_today_are_a_400_naming_the_field(tokyo_doctor, params, field):
    response = get(f"/api/v1/doctors/{tokyo_doctor.pk}/slots/", **params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["fields"] == {
        field: ["Choose a day from 2024-06-01 to 2028-06-01: at most 2 years before or after today."]
    }


def test_the_window_is_two_years_either_side_of_the_doctors_today(tokyo_doctor):
    slot_at(tokyo_doctor, dt.datetime(2028, 6, 1, 10, tzinfo=TOKYO))
    url = f"/api/v1/doctors/{tokyo_doctor.pk}/slots/"
    assert starts(get(url, **{"from": "2028-06-01", "to": "2028-06-01"})) == ["2028-06-01T10:00:00+09:00"]
    assert get(url, **{"from": "2024-06-01", "to": "2024-06-01"}).status_code == 200


def test_thirty_one_days_is_the_longest_range(tokyo_doctor):
    slot_at(tokyo_doctor, dt.datetime(2026, 7, 1, 10, tzinfo=TOKYO))
    response = get(f"/api/v1/doctors/{tokyo_doctor.pk}/slots/", **{"from": "2026-06-01", "to": "2026-07-01"})
    assert starts(response) == ["2026-07-01T10:00:00+09:00"]


def test_free_slots_cost_the_same_queries_for_2_and_12(tokyo_doctor):
    def queries_with(count: int) -> int:
        for hours in range(Slot.objects.filter(doctor=tokyo_doctor).count(), count):
            slot_at(tokyo_doctor, NOW + dt.timedelta(hours=hours + 2))
        with CaptureQueriesContext(connection) as queries:
            response = get(f"/api/v1/doctors/{tokyo_doctor.pk}/slots/", page_size=50)
        assert response.json()["count"] == count
        return len(queries)

    assert queries_with(2) == queries_with(12)
