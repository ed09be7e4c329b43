"""The doctor's patient rating on the directory and the doctor page: from the totals kept on the
doctor, so the pages read no review and make no query per doctor."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.services import review_submit
from hospital.models import Doctor
from hospital.selectors import rating_summary
from tests.factories import DoctorFactory, SlotFactory, UserFactory, visit

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 6, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def built_from_the_database(settings):
    settings.PUBLIC_PAGE_CACHE = False


def rated(doctor: Doctor, *, count: int, total: int) -> Doctor:
    Doctor.objects.filter(pk=doctor.pk).update(review_count=count, rating_sum=total)
    return doctor


def squashed(html: str) -> str:
    return " ".join(html.split())


@pytest.mark.parametrize(
    ("count", "total", "average", "count_text"),
    [
        (1, 5, "5.0", "1 review"),
        (23, 108, "4.7", "23 reviews"),  # 4.6957
        (2, 9, "4.5", "2 reviews"),
        (3, 4, "1.3", "3 reviews"),
        (40, 66, "1.7", "40 reviews"),  # 1.65: a half rounds up, as people expect
    ],
)
def test_the_average_reads_to_one_decimal_with_the_count(count, total, average, count_text):
    summary = rating_summary(review_count=count, rating_sum=total)
    assert (summary.average_text, summary.out_of, summary.count_text) == (average, 5, count_text)


def test_no_reviews_is_no_summary():
    assert rating_summary(review_count=0, rating_sum=0) is None


class TestTheDirectory:
    def test_each_card_shows_its_doctors_rating_or_no_reviews_yet(self, client):
        rated(DoctorFactory(user=UserFactory(first_name="Ada", last_name="Able", role="doctor")), count=23, total=108)
        DoctorFactory(user=UserFactory(first_name="Ben", last_name="Brook", role="doctor"))

        text = squashed(client.get(reverse("hospital:doctor_list")).text)

        able, brook = text.index("Dr Ada Able"), text.index("Dr Ben Brook")
        first_card, second_card = text[able:brook], text[brook:]
        assert (
            '<p class="rating"><span class="rating-star" aria-hidden="true">★</span> '
            '<span class="visually-hidden">Patients\' rating: </span><strong>4.7</strong> out of 5 '
            '<span class="rating-count">(23 reviews)</span></p>'
        ) in first_card
        assert '<p class="rating rating-none">No reviews yet</p>' in second_card

    @pytest.mark.usefixtures("built_from_the_database")
    def test_the_query_count_stays_pinned_with_rated_doctors(self, client):
        def queries_for_directory(doctor_count: int) -> int:
            Doctor.objects.all().delete()
            for number, doctor in enumerate(DoctorFactory.create_batch(doctor_count)):
                SlotFactory(doctor=doctor)
                rated(doctor, count=number + 1, total=4 * (number + 1))
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("hospital:doctor_list"), {"page": 1})
            assert response.status_code == 200 and "4.0</strong> out of 5" in response.text
            return len(queries)

        assert queries_for_directory(10) == queries_for_directory(200) == 3  # as tests/hospital/test_pages.py pins


class TestTheDoctorPage:
    def test_shows_the_rating_in_the_profile(self, client):
        doctor = rated(DoctorFactory(), count=1, total=4)

        text = squashed(client.get(reverse("hospital:doctor_detail", args=[doctor.pk])).text)

        assert '<strong>4.0</strong> out of 5 <span class="rating-count">(1 review)</span>' in text

    def test_a_doctor_without_reviews_says_so(self, client):
        text = client.get(reverse("hospital:doctor_detail", args=[DoctorFactory().pk])).text
        assert "No reviews yet" in text

    @pytest.mark.usefixtures("built_from_the_database")
    def test_the_query_count_stays_pinned_with_a_rated_doctor(self, client):
        doctor = rated(DoctorFactory(), count=7, total=30)

        def queries_with(slot_count: int) -> int:
            doctor.slots.all().delete()
            SlotFactory.create_batch(slot_count, doctor=doctor)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("hospital:doctor_detail", args=[doctor.pk]))
            assert "4.3</strong> out of 5" in response.text
            return len(queries)

        assert queries_with(5) == queries_with(300) == 2  # as tests/hospital/test_pages.py pins


def test_reviews_given_through_the_service_show_on_both_pages(client):
    doctor = DoctorFactory(user=UserFactory(first_name="Ada", last_name="Able", role="doctor"))
    for hours_ago, rating in zip((30, 40, 50), (5, 4, 4), strict=True):
        appointment = visit(status="completed", doctor=doctor, starts_at=NOW - dt.timedelta(hours=hours_ago))
        review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=rating, comment="")

    for url in (reverse("hospital:doctor_list"), reverse("hospital:doctor_detail", args=[doctor.pk])):
        assert '<strong>4.3</strong> out of 5 <span class="rating-count">(3 reviews)</span>' in squashed(
            client.get(url).text
        )


class TestTheTotalsAreWrittenOnlyByReviews:
    def test_saving_a_doctor_read_before_a_review_keeps_the_review(self):
        doctor = DoctorFactory()
        stale = Doctor.objects.get(pk=doctor.pk)
        appointment = visit(status="completed", doctor=doctor, starts_at=NOW - dt.timedelta(days=1))
        review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=5, comment="")

        stale.bio = "Twenty years in cardiology."
        stale.save()

        doctor.refresh_from_db()
        assert (doctor.bio, doctor.review_count, doctor.rating_sum) == ("Twenty years in cardiology.", 1, 5)

    def test_the_admin_neither_shows_nor_writes_them(self, staff_client):
        from tests.hospital.test_admin import doctor_form

        doctor = rated(DoctorFactory(), count=3, total=12)
        doctor.refresh_from_db()
        change_url = reverse("admin:hospital_doctor_change", args=[doctor.pk])
        assert 'name="review_count"' not in staff_client.get(change_url).text

        response = staff_client.post(change_url, doctor_form(doctor, []) | {"review_count": "0", "rating_sum": "0"})

        assert response.status_code == 302
        doctor.refresh_from_db()
        assert (doctor.review_count, doctor.rating_sum) == (3, 12)
