"""A patient rates their completed, paid visit once (1–5 and a comment); the doctor's totals follow
in the same transaction. The rules through the service, the form on the appointment page, and
the doctor's average after many reviews, also when they arrive at once."""

import datetime as dt
import itertools
import queue

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus, Review
from appointments.services import ReviewError, review_submit
from hospital.models import Doctor
from payments.models import Payment
from tests.concurrency import run_concurrently
from tests.factories import DoctorFactory, PatientFactory, UserFactory, visit
from tests.html_checks import assert_labels_name_fields

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 3, 12, tzinfo=UTC)
LAST_WEEK = NOW - dt.timedelta(days=7)
_hours_earlier = itertools.count()


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def completed_visit(*, patient=None, doctor=None, paid=True) -> Appointment:
    """A visit last week (each an hour before the one made before it: one doctor's never clash)."""
    starts_at = LAST_WEEK - dt.timedelta(hours=next(_hours_earlier))
    return visit(status=AppointmentStatus.COMPLETED, paid=paid, patient=patient, doctor=doctor, starts_at=starts_at)


def totals(doctor: Doctor) -> tuple[int, int]:
    doctor.refresh_from_db()
    return doctor.review_count, doctor.rating_sum


def detail_url(appointment: Appointment) -> str:
    return reverse("appointments:detail", args=[appointment.pk])


def review_url(appointment: Appointment) -> str:
    return reverse("appointments:review", args=[appointment.pk])


@pytest.mark.django_db
class TestTheRules:
    def test_the_patient_rates_a_completed_paid_visit_and_the_doctor_counts_it(self, patient):
        appointment = completed_visit(patient=patient)

        review = review_submit(patient=patient, appointment_id=appointment.pk, rating=4, comment="  Kind and clear. ")

        assert (review.rating, review.comment, review.appointment) == (4, "Kind and clear.", appointment)
        assert totals(appointment.doctor) == (1, 4)

    @pytest.mark.parametrize(
        "status",
        [
            AppointmentStatus.CONFIRMED,
            AppointmentStatus.IN_PROGRESS,
            AppointmentStatus.NO_SHOW,
            AppointmentStatus.CANCELED,
        ],
    )
    def test_a_visit_not_completed_is_refused(self, patient, status):
        appointment = visit(status=status, patient=patient, starts_at=LAST_WEEK)

        with pytest.raises(ReviewError, match="once it has taken place"):
            review_submit(patient=patient, appointment_id=appointment.pk, rating=5, comment="")

        assert not Review.objects.exists()
        assert totals(appointment.doctor) == (0, 0)

    @pytest.mark.parametrize(
        "facts", [{"captured_amount": 0}, {"refunded_amount": 5000}, {"dispute_status": "lost"}], ids=str
    )
    def test_a_visit_that_does_not_count_as_paid_is_refused(self, patient, facts):
        appointment = completed_visit(patient=patient)
        Payment.objects.filter(appointment=appointment).update(**{"amount": 5000, "captured_amount": 5000, **facts})

        with pytest.raises(ReviewError, match="paid for"):
            review_submit(patient=patient, appointment_id=appointment.pk, rating=5, comment="")

        assert not Review.objects.exists()
        assert totals(appointment.doctor) == (0, 0)

    def test_someone_elses_visit_is_not_found(self, patient):
        appointment = completed_visit(patient=PatientFactory())

        with pytest.raises(Appointment.DoesNotExist):
            review_submit(patient=patient, appointment_id=appointment.pk, rating=5, comment="")

        assert not Review.objects.exists()

    def test_a_second_rating_is_refused_and_the_first_stays(self, patient):
        appointment = completed_visit(patient=patient)
        review_submit(patient=patient, appointment_id=appointment.pk, rating=2, comment="Long wait.")

        with pytest.raises(ReviewError, match="already rated"):
            review_submit(patient=patient, appointment_id=appointment.pk, rating=5, comment="Changed my mind.")

        assert list(Review.objects.values_list("rating", "comment")) == [(2, "Long wait.")]
        assert totals(appointment.doctor) == (1, 2)

    @pytest.mark.parametrize("rating", [0, 6, -1])
    def test_a_rating_off_the_scale_is_refused(self, patient, rating):
        appointment = completed_visit(patient=patient)

        with pytest.raises(ReviewError, match="from 1 to 5"):
            review_submit(patient=patient, appointment_id=appointment.pk, rating=rating, comment="")

        assert not Review.objects.exists()

    def test_a_comment_over_the_limit_is_refused(self, patient):
        appointment = completed_visit(patient=patient)

        with pytest.raises(ReviewError, match="1000 characters"):
            review_submit(patient=patient, appointment_id=appointment.pk, rating=3, comment="x" * 1001)

        assert not Review.objects.exists()


@pytest.mark.django_db
class TestTheDatabaseHoldsTheRules:
    """Whatever path writes the rows, the database refuses what the service would."""

    @pytest.mark.parametrize("rating", [0, 6])
    def test_a_rating_off_the_scale(self, rating):
        appointment = completed_visit()
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(appointment=appointment, rating=rating)

    def test_a_comment_over_the_limit(self):
        appointment = completed_visit()
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(appointment=appointment, rating=3, comment="x" * 1001)

    def test_a_second_review_of_one_visit(self):
        appointment = completed_visit()
        Review.objects.create(appointment=appointment, rating=3)
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(appointment=appointment, rating=4)

    @pytest.mark.parametrize(
        ("count", "total"), [(0, 1), (2, 1), (2, 11), (1, 0)], ids=["sum-without-reviews", "below", "above", "zero"]
    )
    def test_doctor_totals_off_the_scale(self, count, total):
        doctor = DoctorFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Doctor.objects.filter(pk=doctor.pk).update(review_count=count, rating_sum=total)


@pytest.mark.django_db
class TestTheAverageFollows:
    def test_after_several_reviews_the_totals_are_exact(self):
        doctor, other = DoctorFactory(), DoctorFactory()
        for rating in (5, 4, 4, 3, 5):
            appointment = completed_visit(doctor=doctor)
            review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=rating, comment="")
        appointment = completed_visit(doctor=other)
        review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=1, comment="")

        assert totals(doctor) == (5, 21)
        assert totals(other) == (1, 1)

    def test_a_refused_rating_leaves_the_totals_alone(self):
        doctor = DoctorFactory()
        appointment = completed_visit(doctor=doctor)
        review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=5, comment="")
        unpaid = completed_visit(doctor=doctor, paid=False)

        with pytest.raises(ReviewError):
            review_submit(patient=unpaid.patient, appointment_id=unpaid.pk, rating=1, comment="")

        assert totals(doctor) == (1, 5)


@pytest.mark.django_db(transaction=True)
class TestAtOnce:
    """Real threads, each with its own connection (on SQLite the file database serialises them)."""

    def test_one_patient_sending_the_rating_five_times_at_once_rates_once(self, patient):
        appointment = completed_visit(patient=patient)

        results = run_concurrently(
            lambda: review_submit(patient=patient, appointment_id=appointment.pk, rating=4, comment="Twice?"),
            threads=5,
        )

        assert sum(isinstance(result, Review) for result in results) == 1
        assert [str(result) for result in results if not isinstance(result, Review)] == [
            "You have already rated this visit. Thank you!"
        ] * 4
        assert Review.objects.count() == 1
        assert totals(appointment.doctor) == (1, 4)

    def test_many_patients_rating_one_doctor_at_once_are_all_counted(self):
        doctor = DoctorFactory()
        visits = queue.SimpleQueue()
        ratings = [5, 4, 3, 5, 1, 2, 4, 5]
        for rating in ratings:
            visits.put((completed_visit(doctor=doctor), rating))

        def rate():
            appointment, rating = visits.get()
            return review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=rating, comment="")

        results = run_concurrently(rate, threads=len(ratings))

        assert all(isinstance(result, Review) for result in results), results
        assert totals(doctor) == (len(ratings), sum(ratings))


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_twenty_rounds_of_double_sends_each_rate_once(patient):
    """Where row locks and unique indexes really race: the second insert waits for the first and fails."""
    doctor = DoctorFactory()
    for round_number in range(20):
        appointment = completed_visit(patient=patient, doctor=doctor)
        rating = round_number % 5 + 1

        results = run_concurrently(
            lambda appointment=appointment, rating=rating: review_submit(
                patient=patient, appointment_id=appointment.pk, rating=rating, comment=""
            ),
            threads=4,
        )

        assert sum(isinstance(result, Review) for result in results) == 1
        assert all(isinstance(result, Review | ReviewError) for result in results), results
    assert Review.objects.count() == 20
    assert totals(doctor) == (20, sum(round_number % 5 + 1 for round_number in range(20)))


@pytest.mark.django_db
class TestTheAppointmentPage:
    def test_a_completed_paid_visit_offers_the_form_as_a_fieldset_of_radios(self, patient_client, patient):
        appointment = completed_visit(patient=patient)

        text = patient_client.get(detail_url(appointment)).text

        assert "How was your visit?" in text
        assert f'action="{review_url(appointment)}"' in text
        assert "<legend>Your rating</legend>" in text
        for value, word in [(1, "Poor"), (3, "Good"), (5, "Excellent")]:
            assert f'type="radio" name="rating" value="{value}"' in text
            number = f'<span class="rating-choice-number">{value}</span></span>'
            assert f'{number} <span class="rating-choice-word">{word}</span>' in text
        assert 'maxlength="1000"' in text
        assert_labels_name_fields(text)

    def test_rating_shows_the_rating_instead_of_the_form(self, patient_client, patient):
        appointment = completed_visit(patient=patient)

        response = patient_client.post(
            review_url(appointment), {"rating": "4", "comment": "Listened well.\nClear advice."}, follow=True
        )

        assert response.redirect_chain == [(detail_url(appointment), 302)]
        text = response.text
        assert "Thank you for rating your visit." in text
        assert "Your rating" in text
        assert "4 out of 5 · Very good" in text
        assert "Listened well.<br>Clear advice." in text
        assert "Rated on 3 Jun 2026" in text
        assert "How was your visit?" not in text
        assert review_url(appointment) not in text

    @pytest.mark.parametrize("rating", ["0", "6", "five", ""])
    def test_a_rating_that_is_not_one_to_five_is_a_form_error_and_nothing_is_written(
        self, patient_client, patient, rating
    ):
        appointment = completed_visit(patient=patient)

        response = patient_client.post(review_url(appointment), {"rating": rating, "comment": "Kept"})

        assert response.status_code == 200
        assert "Choose a rating from 1 to 5." in response.text
        assert 'aria-describedby="id_rating_error"' in response.text
        assert ">\nKept</textarea>" in response.text  # what was typed is not lost
        assert not Review.objects.exists()
        assert totals(appointment.doctor) == (0, 0)

    def test_a_comment_over_the_limit_is_a_form_error(self, patient_client, patient):
        appointment = completed_visit(patient=patient)

        response = patient_client.post(review_url(appointment), {"rating": "3", "comment": "x" * 1001})

        assert "Ensure this value has at most 1000 characters" in response.text
        assert not Review.objects.exists()

    def test_a_second_rating_is_refused_with_a_plain_message(self, patient_client, patient):
        appointment = completed_visit(patient=patient)
        patient_client.post(review_url(appointment), {"rating": "5"})

        response = patient_client.post(review_url(appointment), {"rating": "1"}, follow=True)

        assert "You have already rated this visit." in response.text
        assert "5 out of 5 · Excellent" in response.text
        assert totals(appointment.doctor) == (1, 5)

    def test_an_unpaid_completed_visit_has_no_form_and_a_crafted_post_is_refused(self, patient_client, patient):
        appointment = completed_visit(patient=patient, paid=False)
        assert "How was your visit?" not in patient_client.get(detail_url(appointment)).text

        response = patient_client.post(review_url(appointment), {"rating": "5"}, follow=True)

        assert "Only a visit that was paid for can be rated." in response.text
        assert not Review.objects.exists()

    def test_a_confirmed_visit_has_no_form(self, patient_client, patient):
        appointment = visit(status=AppointmentStatus.CONFIRMED, patient=patient)
        assert "How was your visit?" not in patient_client.get(detail_url(appointment)).text

    def test_someone_elses_visit_is_not_found_and_not_rated(self, patient_client):
        appointment = completed_visit(patient=PatientFactory())

        assert patient_client.post(review_url(appointment), {"rating": "5"}).status_code == 404
        assert not Review.objects.exists()

    def test_only_patients_may_send_a_rating(self, client):
        appointment = completed_visit()
        client.force_login(UserFactory(role="staff", is_superuser=True))
        assert client.post(review_url(appointment), {"rating": "5"}).status_code == 403
        client.logout()
        response = client.post(review_url(appointment), {"rating": "5"})
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
        assert not Review.objects.exists()

    def test_the_rating_is_post_only(self, patient_client, patient):
        assert patient_client.get(review_url(completed_visit(patient=patient))).status_code == 405

    def test_staff_see_the_patients_rating_without_a_form(self, staff_client):
        appointment = completed_visit()
        review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=2, comment="Rushed.")

        text = staff_client.get(detail_url(appointment)).text

        assert "The patient's rating" in text
        assert "2 out of 5 · Fair" in text and "Rushed." in text

    def test_staff_see_no_form_on_a_visit_not_yet_rated(self, staff_client):
        appointment = completed_visit()
        text = staff_client.get(detail_url(appointment)).text
        assert "How was your visit?" not in text and "rating" not in text.lower()


@pytest.mark.django_db
class TestTheAdmin:
    def test_staff_list_filter_and_read_reviews_but_cannot_change_them(self, staff_client):
        appointment = completed_visit()
        review = review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=3, comment="Fine.")
        changelist = reverse("admin:appointments_review_changelist")

        listed = staff_client.get(changelist)
        assert listed.status_code == 200 and "Fine." in listed.text
        assert staff_client.get(changelist, {"rating__exact": "3"}).context["cl"].result_count == 1
        assert staff_client.get(changelist, {"rating__exact": "5"}).context["cl"].result_count == 0
        assert staff_client.get(changelist, {"q": appointment.patient.email}).context["cl"].result_count == 1
        change = staff_client.get(reverse("admin:appointments_review_change", args=[review.pk]))
        assert change.status_code == 200 and 'name="rating"' not in change.text
        assert staff_client.get(reverse("admin:appointments_review_add")).status_code == 403
        assert staff_client.post(reverse("admin:appointments_review_delete", args=[review.pk])).status_code == 403
        assert Review.objects.count() == 1
