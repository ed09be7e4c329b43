import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from hospital.models import Doctor, Slot
from tests.factories import DoctorFactory, SlotFactory, SpecialtyFactory, UserFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, tzinfo=UTC)  # a Monday


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def named_doctor(first: str, last: str, **kwargs) -> Doctor:
    return DoctorFactory(user=UserFactory(first_name=first, last_name=last, role="doctor"), **kwargs)


def test_home_lists_specialties_that_have_doctors(client):
    cardiology = SpecialtyFactory(name="Cardiology", description="Hearts.")
    SpecialtyFactory(name="Empty specialty")
    DoctorFactory(specialty=cardiology)

    response = client.get(reverse("hospital:home"))

    assert response.status_code == 200
    assert "Cardiology" in response.text
    assert "Empty specialty" not in response.text
    assert f"?specialty={cardiology.slug}" in response.text


@pytest.fixture
def built_from_the_database(settings):
    """Pages built afresh on every request: their own query counts (the cache's are in test_page_cache)."""
    settings.PUBLIC_PAGE_CACHE = False


@pytest.mark.usefixtures("built_from_the_database")
def test_home_query_count_does_not_grow_with_specialties_or_doctors(client):
    def queries_with(specialty_count: int, doctors_each: int) -> int:
        Doctor.objects.all().delete()
        for number in range(specialty_count):
            DoctorFactory.create_batch(doctors_each, specialty=SpecialtyFactory(name=f"Specialty {number}"))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("hospital:home"))
        assert response.status_code == 200
        return len(queries)

    assert queries_with(2, 1) == queries_with(12, 5) == 1  # the specialties, for the grid and the menu


class TestDirectory:
    url = reverse("hospital:doctor_list")

    def test_lists_listed_doctors_with_fee_and_next_free_slot_in_their_zone(self, client):
        doctor = named_doctor("Amara", "Okafor", fee_amount=9000, fee_currency="gbp", timezone="Europe/London")
        SlotFactory(
            doctor=doctor, starts_at=NOW + dt.timedelta(hours=3), ends_at=NOW + dt.timedelta(hours=3, minutes=30)
        )
        named_doctor("Hidden", "Person", is_active=False)

        response = client.get(self.url)

        assert response.status_code == 200
        assert "Dr Amara Okafor" in response.text
        assert "£90.00" in response.text
        assert "Mon 1 Jun, 10:00" in response.text  # 09:00 UTC is 10:00 BST
        assert "BST · Europe/London" in response.text
        assert "Hidden" not in response.text

    def test_next_free_slot_skips_blocked_and_past_slots(self, client):
        doctor = named_doctor("Sofia", "Marquez", timezone="America/New_York")
        SlotFactory(doctor=doctor, starts_at=NOW - dt.timedelta(hours=1), ends_at=NOW - dt.timedelta(minutes=30))
        SlotFactory(
            doctor=doctor, starts_at=NOW + dt.timedelta(hours=1), ends_at=NOW + dt.timedelta(hours=2), is_blocked=True
        )
        SlotFactory(doctor=doctor, starts_at=NOW + dt.timedelta(hours=8), ends_at=NOW + dt.timedelta(hours=9))

        response = client.get(self.url)

        assert "Mon 1 Jun, 10:00" in response.text  # 14:00 UTC is 10:00 EDT
        assert "EDT · America/New_York" in response.text

    def test_doctor_without_free_slots_says_so(self, client):
        named_doctor("No", "Slots")
        assert "No free times in the next weeks" in client.get(self.url).text

    def test_search_by_name_matches_every_word(self, client):
        named_doctor("Amara", "Okafor")
        named_doctor("Amara", "Smith")
        named_doctor("James", "Okafor")

        response = client.get(self.url, {"q": "amara oka"})

        assert [d.display_name for d in response.context["page"]] == ["Dr Amara Okafor"]

    def test_filter_by_specialty(self, client):
        cardiology = SpecialtyFactory(name="Cardiology")
        named_doctor("Heart", "Doctor", specialty=cardiology)
        named_doctor("Skin", "Doctor", specialty=SpecialtyFactory(name="Dermatology"))

        response = client.get(self.url, {"specialty": cardiology.slug})

        assert [d.display_name for d in response.context["page"]] == ["Dr Heart Doctor"]
        assert "1 doctor found" in response.text

    def test_unknown_specialty_is_a_form_error_not_a_crash(self, client):
        named_doctor("Any", "Doctor")
        response = client.get(self.url, {"specialty": "no-such-thing"})
        assert response.status_code == 200
        assert "Select a valid choice" in response.text

    def test_no_match_explains_and_offers_the_full_list(self, client):
        response = client.get(self.url, {"q": "zzz"})
        assert "No doctor matches your search" in response.text

    def test_paginates_twelve_per_page_keeping_the_filters(self, client):
        specialty = SpecialtyFactory(name="Cardiology")
        DoctorFactory.create_batch(13, specialty=specialty)

        first = client.get(self.url, {"specialty": specialty.slug})
        second = client.get(self.url, {"specialty": specialty.slug, "page": 2})

        assert len(first.context["page"]) == 12
        assert len(second.context["page"]) == 1
        assert "?specialty=cardiology&amp;page=2" in first.text
        assert "Page 2 of 2" in second.text

    @staticmethod
    def queries_for_directory(client, doctor_count: int) -> int:
        Doctor.objects.all().delete()
        for doctor in DoctorFactory.create_batch(doctor_count):
            SlotFactory(doctor=doctor)
            SlotFactory(doctor=doctor)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("hospital:doctor_list"), {"page": 1})
        assert response.status_code == 200
        return len(queries)

    @pytest.mark.usefixtures("built_from_the_database")
    def test_query_count_does_not_grow_with_the_number_of_doctors(self, client):
        at_10 = self.queries_for_directory(client, 10)
        at_200 = self.queries_for_directory(client, 200)
        assert at_10 == at_200 == 3  # count, page of doctors with next slot, specialties for the filter


class TestDoctorPage:
    def test_shows_free_slots_grouped_by_local_day_with_the_zone_named(self, client):
        doctor = named_doctor("Hiroshi", "Tanaka", timezone="Asia/Tokyo", fee_amount=8000, fee_currency="jpy")
        # 23:30 UTC on Monday is 08:30 on Tuesday in Tokyo.
        SlotFactory(
            doctor=doctor,
            starts_at=dt.datetime(2026, 6, 1, 23, 30, tzinfo=UTC),
            ends_at=dt.datetime(2026, 6, 2, 0, tzinfo=UTC),
        )
        SlotFactory(
            doctor=doctor,
            starts_at=dt.datetime(2026, 6, 1, 8, tzinfo=UTC),
            ends_at=dt.datetime(2026, 6, 1, 8, 30, tzinfo=UTC),
        )

        response = client.get(reverse("hospital:doctor_detail", args=[doctor.pk]))

        assert response.status_code == 200
        days = response.context["slot_days"]
        assert [day.date for day in days] == [dt.date(2026, 6, 1), dt.date(2026, 6, 2)]
        assert "Tuesday 2 June" in response.text
        assert "08:30" in response.text
        assert "JST" in response.text
        assert "Asia/Tokyo" in response.text
        assert "¥8,000" in response.text

    def test_hides_blocked_and_past_slots(self, client):
        doctor = named_doctor("Grace", "Adeyemi")
        SlotFactory(doctor=doctor, starts_at=NOW - dt.timedelta(hours=2), ends_at=NOW - dt.timedelta(hours=1))
        SlotFactory(
            doctor=doctor, starts_at=NOW + dt.timedelta(hours=2), ends_at=NOW + dt.timedelta(hours=3), is_blocked=True
        )

        response = client.get(reverse("hospital:doctor_detail", args=[doctor.pk]))

        assert response.context["slot_days"] == []
        assert "No free times in the next two weeks" in response.text

    def test_unlisted_doctor_is_not_found_for_patients_but_visible_to_staff(self, client, patient, staff):
        doctor = named_doctor("Quiet", "Doctor", is_active=False)
        url = reverse("hospital:doctor_detail", args=[doctor.pk])

        assert client.get(url).status_code == 404
        client.force_login(patient)
        assert client.get(url).status_code == 404
        client.force_login(staff)
        response = client.get(url)
        assert response.status_code == 200
        assert "Unlisted" in response.text

    @pytest.mark.usefixtures("built_from_the_database")
    def test_query_count_does_not_grow_with_the_number_of_slots(self, client):
        doctor = named_doctor("Busy", "Doctor")

        def queries_with(slot_count: int) -> int:
            Slot.objects.all().delete()
            SlotFactory.create_batch(slot_count, doctor=doctor)
            with CaptureQueriesContext(connection) as queries:
                client.get(reverse("hospital:doctor_detail", args=[doctor.pk]))
            return len(queries)

        assert queries_with(5) == queries_with(300) == 2


class TestNavigationPerRole:
    def test_visitor_is_offered_log_in_and_sign_up(self, client):
        text = client.get(reverse("hospital:home")).text
        assert "Log in" in text and "Create account" in text
        assert "Log out" not in text

    def test_patient_sees_their_account_and_no_admin(self, patient_client):
        text = patient_client.get(reverse("hospital:home")).text
        assert 'role-tag">Patient' in text and "Log out" in text
        assert "Staff admin" not in text and "Create account" not in text

    def test_doctor_gets_a_link_to_their_public_page(self, client):
        doctor = named_doctor("Amara", "Okafor")
        client.force_login(doctor.user)
        text = client.get(reverse("hospital:home")).text
        assert 'role-tag">Doctor' in text
        assert f'href="{reverse("hospital:doctor_detail", args=[doctor.pk])}">My public page' in text

    def test_staff_get_the_admin(self, staff_client):
        assert "Staff admin" in staff_client.get(reverse("hospital:home")).text


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.text
