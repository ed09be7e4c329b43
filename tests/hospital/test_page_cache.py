"""The cached public fragments are never stale: every write shows at once, and so does every change
that time alone makes (a hold running out, a slot passing the booking cut-off, the two-week window
moving on), though nothing is written at that moment.

transactional_db: the version is bumped after commit, as in production.
"""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.services import appointment_cancel_hold, review_submit
from hospital import services
from hospital.models import Doctor, PublicPagesVersion, Slot
from tests.factories import (
    DoctorFactory,
    PatientFactory,
    SlotFactory,
    SpecialtyFactory,
    StaffFactory,
    UserFactory,
    WorkingHoursFactory,
    hold_slot,
    visit,
)
from tests.hospital.test_admin import doctor_form
from tests.redis_server import redis_or_skip, redis_url

pytestmark = pytest.mark.django_db(transaction=True)

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, tzinfo=UTC)  # a Monday; 07:00 in London


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def staff_browser():
    """Staff in the admin, in a browser of their own: the public pages are read by `client`."""
    browser = Client()
    browser.force_login(StaffFactory(first_name="Sam", last_name="Staff"))
    return browser


@pytest.fixture
def doctor():
    return DoctorFactory(user=UserFactory(first_name="Ada", last_name="Okafor", role="doctor"))


def slot_at(doctor, hour: int, minute: int = 0, day: int = 1, **kwargs) -> Slot:
    starts_at = dt.datetime(2026, 6, day, hour, minute, tzinfo=UTC)
    return SlotFactory(doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30), **kwargs)


def doctor_page(client, doctor) -> str:
    response = client.get(reverse("hospital:doctor_detail", args=[doctor.pk]))
    assert response.status_code == 200
    return response.text


def directory(client, **query) -> str:
    response = client.get(reverse("hospital:doctor_list"), query)
    assert response.status_code == 200
    return response.text


def book_url(slot) -> str:
    return reverse("appointments:book", args=[slot.pk])


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


class TestServedFromTheCache:
    @staticmethod
    def cold_and_warm(client, url, *, doctors: int, slots_each: int) -> tuple[int, int]:
        Doctor.objects.all().delete()
        for listed in DoctorFactory.create_batch(doctors):
            SlotFactory.create_batch(slots_each, doctor=listed)
        cache.clear()
        return queries_for(client, url()), queries_for(client, url())

    @pytest.mark.parametrize(
        ("page", "cold", "warm"),
        [
            # cold: the version (read once per request); then what the page is built from. Warm: the version.
            ("home", 2, 1),  # the specialties
            ("directory", 5, 1),  # specialties (menu and check), count, page of cards, holds on their slots
            ("doctor", 5, 1),  # the doctor, free slots, holds on the doctor's slots, first slot beyond two weeks
        ],
    )
    def test_query_counts_cold_and_warm_do_not_grow_with_the_data(self, client, page, cold, warm):
        urls = {
            "home": lambda: reverse("hospital:home"),
            "directory": lambda: reverse("hospital:doctor_list"),
            "doctor": lambda: reverse("hospital:doctor_detail", args=[Doctor.objects.first().pk]),
        }
        small = self.cold_and_warm(client, urls[page], doctors=2, slots_each=2)
        large = self.cold_and_warm(client, urls[page], doctors=30, slots_each=20)
        assert small == large == (cold, warm)

    def test_a_warm_doctor_page_reads_no_slots(self, client, doctor):
        for hour in (9, 10, 11):
            slot_at(doctor, hour)
        url = reverse("hospital:doctor_detail", args=[doctor.pk])
        first = client.get(url).text

        with CaptureQueriesContext(connection) as queries:
            second = client.get(url).text

        assert second == first
        assert not any('"hospital_slot"' in query["sql"] for query in queries)

    def test_switched_off_every_visit_builds_the_page(self, client, doctor, settings):
        settings.PUBLIC_PAGE_CACHE = False
        slot_at(doctor, 10)
        url = reverse("hospital:doctor_detail", args=[doctor.pk])
        assert queries_for(client, url) == queries_for(client, url) == 2


class TestWritesShowAtOnce:
    def test_a_booking_takes_the_time_off_the_doctor_page_and_the_directory(self, client, doctor):
        first, second = slot_at(doctor, 10), slot_at(doctor, 11)
        assert book_url(first) in doctor_page(client, doctor)
        assert "Mon 1 Jun, 11:00" in directory(client)  # 10:00 UTC is 11:00 in London

        hold_slot(patient=PatientFactory(), slot=first)

        page = doctor_page(client, doctor)
        assert book_url(first) not in page
        assert book_url(second) in page
        assert "Mon 1 Jun, 12:00" in directory(client)

    def test_a_cancelled_hold_gives_the_time_back(self, client, doctor):
        slot = slot_at(doctor, 10)
        appointment = hold_slot(patient=PatientFactory(), slot=slot)
        assert book_url(slot) not in doctor_page(client, doctor)

        appointment_cancel_hold(appointment_id=appointment.pk)

        assert book_url(slot) in doctor_page(client, doctor)

    def test_a_new_review_shows_its_rating_on_both_pages(self, client, doctor):
        slot_at(doctor, 10)
        appointment = visit(status="completed", doctor=doctor, starts_at=NOW - dt.timedelta(days=1))
        assert "No reviews yet" in doctor_page(client, doctor)
        assert "No reviews yet" in directory(client)
        version = PublicPagesVersion.objects.get().number

        # The doctor's totals change by a queryset update(), which sends no signal.
        review_submit(patient=appointment.patient, appointment_id=appointment.pk, rating=4, comment="")

        assert PublicPagesVersion.objects.get().number == version + 1
        assert "<strong>4.0</strong> out of 5" in doctor_page(client, doctor)
        assert "<strong>4.0</strong> out of 5" in directory(client)

    def test_a_fee_changed_in_the_admin_shows_on_both_pages(self, client, doctor, staff_browser):
        slot_at(doctor, 10)
        assert "$50.00" in doctor_page(client, doctor)
        assert "$50.00" in directory(client)

        response = staff_browser.post(
            reverse("admin:hospital_doctor_change", args=[doctor.pk]), doctor_form(doctor, []) | {"fee_amount": "75.00"}
        )
        assert response.status_code == 302

        assert "$75.00" in doctor_page(client, doctor)
        assert "$75.00" in directory(client)

    def test_hours_and_time_off_saved_in_the_admin_show_at_once(self, client, doctor, staff_browser):
        change_url = reverse("admin:hospital_doctor_change", args=[doctor.pk])
        assert "No free times in the next two weeks" in doctor_page(client, doctor)

        staff_browser.post(change_url, doctor_form(doctor, [(0, "09:00", "10:00")]))
        nine = Slot.objects.get(doctor=doctor, starts_at=dt.datetime(2026, 6, 1, 8, tzinfo=UTC))  # 09:00 BST
        assert book_url(nine) in doctor_page(client, doctor)

        staff_browser.post(
            change_url,
            doctor_form(doctor, [], time_off=[("2026-06-01 09:00", "2026-06-01 09:30")]),  # the hours stay
        )
        assert not Slot.objects.filter(pk=nine.pk).exists()
        assert book_url(nine) not in doctor_page(client, doctor)

    def test_a_schedule_generated_by_the_nightly_command_shows_its_times(self, client, doctor):
        assert "No free times in the next two weeks" in doctor_page(client, doctor)

        WorkingHoursFactory(doctor=doctor, weekday=1, start_time=dt.time(9), end_time=dt.time(10))
        services.slots_generate_for_all_doctors(days=7)

        page = doctor_page(client, doctor)
        assert "Tuesday 2 June" in page
        assert "09:30" in page

    def test_a_slot_blocked_in_the_admin_disappears(self, client, doctor, staff_browser):
        slot = slot_at(doctor, 10)
        assert book_url(slot) in doctor_page(client, doctor)

        response = staff_browser.post(
            reverse("admin:hospital_slot_changelist"), {"action": "block_slots", "_selected_action": [slot.pk]}
        )
        assert response.status_code == 302

        assert book_url(slot) not in doctor_page(client, doctor)
        assert "No free times in the next weeks" in directory(client)

    def test_a_renamed_doctor_is_found_by_the_new_name(self, client, doctor):
        slot_at(doctor, 10)
        assert "Okafor" in directory(client, q="Okafor")
        user = doctor.user
        user.last_name = "Mensah"
        user.save()

        assert "Mensah" in directory(client)
        assert "No doctor matches your search" in directory(client, q="Okafor")

    def test_a_new_doctor_counts_on_the_home_page(self, client, doctor):
        cardiology = SpecialtyFactory(name="Cardiology")
        DoctorFactory(specialty=cardiology)
        assert "1 doctor<" in client.get(reverse("hospital:home")).text.replace("\n", "")

        DoctorFactory(specialty=cardiology)

        assert "2 doctors" in client.get(reverse("hospital:home")).text

    def test_signing_in_does_not_empty_the_cache(self, client, doctor, password):
        slot_at(doctor, 10)
        doctor_page(client, doctor)
        version = PublicPagesVersion.objects.get().number
        patient = PatientFactory(password=password)

        client.post(reverse("accounts:login"), {"username": patient.email, "password": password})

        assert PublicPagesVersion.objects.get().number == version + 1  # only the new patient's row


class TestTimeAloneShowsAtOnce:
    @pytest.fixture(autouse=True)
    def entries_outlive_the_clock_moves(self, settings):
        # Only the expiry computed from the data can then show the change.
        settings.PUBLIC_PAGE_CACHE_MAX_SECONDS = 60 * 86400

    def test_a_hold_that_runs_out_frees_its_time(self, client, doctor, clock):
        slot = slot_at(doctor, 12)
        appointment = hold_slot(patient=PatientFactory(), slot=slot)
        assert book_url(slot) not in doctor_page(client, doctor)
        assert "No free times in the next weeks" in directory(client)

        clock.move_to(appointment.hold_expires_at)

        assert book_url(slot) in doctor_page(client, doctor)
        assert "Mon 1 Jun, 13:00" in directory(client)

    def test_a_time_past_the_booking_cut_off_is_no_longer_offered(self, client, doctor, clock):
        soon, later = slot_at(doctor, 8), slot_at(doctor, 9)
        assert book_url(soon) in doctor_page(client, doctor)
        assert "Mon 1 Jun, 09:00" in directory(client)

        clock.move_to(soon.starts_at - dt.timedelta(minutes=60))  # booking closes an hour before

        page = doctor_page(client, doctor)
        assert book_url(soon) not in page
        assert book_url(later) in page
        assert "Mon 1 Jun, 10:00" in directory(client)

    def test_a_time_entering_the_two_week_window_appears(self, client, doctor, clock):
        beyond = slot_at(doctor, 10, day=15)  # 14 days and 4 hours ahead
        assert book_url(beyond) not in doctor_page(client, doctor)

        clock.move_to(beyond.starts_at - dt.timedelta(days=14) + dt.timedelta(seconds=1))

        assert book_url(beyond) in doctor_page(client, doctor)


class TestNothingOfOneUserReachesAnother:
    def test_only_patients_and_visitors_get_booking_links(self, client, doctor):
        slot = slot_at(doctor, 10)
        assert book_url(slot) in doctor_page(client, doctor)  # a visitor fills the cache

        client.force_login(StaffFactory())
        assert book_url(slot) not in doctor_page(client, doctor)
        client.force_login(doctor.user)
        assert book_url(slot) not in doctor_page(client, doctor)
        client.force_login(PatientFactory())
        assert book_url(slot) in doctor_page(client, doctor)

    def test_each_search_keeps_its_own_words_and_errors_are_never_kept(self, client, doctor):
        slot_at(doctor, 10)
        assert 'value="Okafor"' in directory(client, q="Okafor")
        assert 'value="Okafor"' in directory(client, q="Okafor")  # from the cache
        assert 'value="Ada"' in directory(client, q="Ada")
        assert "Select a valid choice" in directory(client, specialty="no-such-thing")
        assert "Select a valid choice" not in directory(client)

    def test_an_unlisted_doctor_seen_by_staff_stays_hidden_from_patients(self, client, doctor, staff_browser):
        doctor.is_active = False
        doctor.save()
        url = reverse("hospital:doctor_detail", args=[doctor.pk])
        assert "Unlisted" in staff_browser.get(url).text  # staff fill the cache

        assert client.get(url).status_code == 404
        client.force_login(PatientFactory())
        assert client.get(url).status_code == 404

    def test_a_patients_own_hold_shows_only_on_their_pages(self, client, doctor):
        slot = slot_at(doctor, 10)
        patient = PatientFactory()
        hold_slot(patient=patient, slot=slot)
        client.force_login(patient)
        mine = client.get(reverse("appointments:list")).text
        assert "Ada Okafor" in mine or "Okafor" in mine

        client.logout()
        assert patient.email not in doctor_page(client, doctor)
        assert patient.email not in directory(client)


@pytest.fixture
def redis_cache():
    """The cache several app servers share (CACHE_URL=redis://…), on the Redis running here."""
    redis_or_skip(15)
    location = redis_url(15)
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}
    with override_settings(CACHES=caches):
        from django.core.cache import cache

        cache.clear()
        yield cache
        cache.clear()


def test_with_redis_a_booking_shows_at_once_and_entries_expire_with_the_hold(client, doctor, redis_cache, clock):
    slot = slot_at(doctor, 12)
    assert book_url(slot) in doctor_page(client, doctor)
    appointment = hold_slot(patient=PatientFactory(), slot=slot)
    assert book_url(slot) not in doctor_page(client, doctor)

    redis = redis_cache._cache.get_client()
    entries = list(redis.scan_iter("*public-page*"))
    assert entries, "the fragments are stored in Redis"
    # The page built after the booking lives no longer than the hold does.
    assert 0 < min(redis.ttl(key) for key in entries) <= (appointment.hold_expires_at - NOW).total_seconds()
