"""Appointments in calendar apps: each visit's .ics for its patient and its doctor, and the
doctor's private, revocable feed, which never carries a patient's name or reason for the visit.
Every .ics is read back with the icalendar package, as a calendar app would."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from icalendar import Calendar

from appointments.models import AppointmentStatus, DoctorCalendarFeed
from hospital.models import VisitType
from tests.appointments.test_visit_place import NEW_YORK_10AM, NOW, TOKYO_10AM, new_york_doctor, tokyo_doctor
from tests.factories import DoctorFactory, PatientFactory, StaffFactory, visit
from tests.html_checks import assert_labels_name_fields

pytestmark = pytest.mark.django_db

FEED_PAGE = reverse("appointments:calendar_feed_settings")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def ics_url(appointment) -> str:
    return reverse("appointments:calendar", args=[appointment.pk])


def download(client, user, appointment):
    client.force_login(user)
    return client.get(ics_url(appointment))


def only_event(content: bytes):
    [event] = Calendar.from_ical(content).events
    return event


def patient_named(first: str, last: str):
    return PatientFactory(first_name=first, last_name=last)


class TestAppointmentIcs:
    def test_the_patient_downloads_their_visit_in_the_doctors_zone_with_its_place_and_a_stable_uid(self, client):
        appointment = visit(doctor=tokyo_doctor(), starts_at=TOKYO_10AM)

        response = download(client, appointment.patient, appointment)

        assert response.status_code == 200
        assert response["Content-Type"] == "text/calendar; charset=utf-8"
        assert response["Content-Disposition"] == f'attachment; filename="appointment-{appointment.pk}.ics"'
        calendar = Calendar.from_ical(response.content)
        event = only_event(response.content)
        assert event.start == TOKYO_10AM and event.end == TOKYO_10AM + dt.timedelta(minutes=30)
        assert str(event.start.tzinfo) == "Asia/Tokyo" and (event.start.hour, event.start.minute) == (10, 0)
        assert [tz.tz_name for tz in calendar.timezones] == ["Asia/Tokyo"]  # the zone travels with it
        assert "DTSTART;TZID=Asia/Tokyo:20260602T100000" in response.content.decode()
        assert event["LOCATION"] == "Sakura Clinic, 2-1 Marunouchi, Chiyoda, Room 3.02"
        assert event["SUMMARY"] == f"Appointment with Dr Hiroshi Tanaka ({appointment.doctor.specialty.name})"
        assert event["STATUS"] == "CONFIRMED"
        assert event.uid == f"appointment-{appointment.pk}@hospital.test"
        assert only_event(download(client, appointment.patient, appointment).content).uid == event.uid

    def test_a_new_york_visit_reads_10_edt_and_14_utc(self, client):
        appointment = visit(doctor=new_york_doctor(), starts_at=NEW_YORK_10AM)
        event = only_event(download(client, appointment.patient, appointment).content)
        assert str(event.start.tzinfo) == "America/New_York"
        assert (event.start.hour, event.start.astimezone(dt.UTC).hour) == (10, 14)
        assert event["LOCATION"] == "Hudson Pavilion, 500 West 12th Street, Suite 210"

    def test_the_doctors_copy_names_no_patient_and_no_reason(self, client):
        patient = patient_named("Imogen", "Quartermaine")
        appointment = visit(patient=patient, doctor=tokyo_doctor(), starts_at=TOKYO_10AM, reason="Painful left knee")

        response = download(client, appointment.doctor.user, appointment)

        assert response.status_code == 200
        text = response.content.decode()
        for private in ("Imogen", "Quartermaine", patient.email, "knee"):
            assert private not in text
        event = only_event(response.content)
        assert event["SUMMARY"] == f"Appointment, booking #{appointment.pk}"
        assert event["LOCATION"] == "Sakura Clinic, 2-1 Marunouchi, Chiyoda, Room 3.02"
        assert event["CLASS"] == "PRIVATE"
        assert event.uid == f"appointment-{appointment.pk}@hospital.test"  # the patient's UID: one visit

    def test_a_video_visit_carries_its_link_for_the_patient_and_not_for_the_doctor(self, client, settings):
        settings.VIDEO_BASE_URL = "https://video.hospital.invalid"
        appointment = visit(doctor=tokyo_doctor(visit_type=VisitType.VIDEO), starts_at=TOKYO_10AM)
        link = f"https://video.hospital.invalid/{appointment.video_room}"

        for_patient = only_event(download(client, appointment.patient, appointment).content)
        doctors = download(client, appointment.doctor.user, appointment).content

        assert for_patient["LOCATION"] == link
        assert link in for_patient["DESCRIPTION"]
        assert only_event(doctors)["LOCATION"] == "Video call"
        assert appointment.video_room not in doctors.decode()

    def test_the_page_offers_the_download_while_the_visit_is_on(self, client):
        confirmed = visit(doctor=tokyo_doctor(), starts_at=TOKYO_10AM)
        client.force_login(confirmed.patient)
        page = client.get(reverse("appointments:detail", args=[confirmed.pk])).text
        assert f'href="{ics_url(confirmed)}"' in page

        pending = visit(patient=confirmed.patient, doctor=confirmed.doctor, status="pending_payment", paid=False)
        assert ics_url(pending) not in client.get(reverse("appointments:detail", args=[pending.pk])).text

    def test_a_canceled_visit_downloads_as_cancelled_so_calendars_drop_it(self, client):
        appointment = visit(doctor=tokyo_doctor(), starts_at=TOKYO_10AM, status=AppointmentStatus.CANCELED)
        assert only_event(download(client, appointment.patient, appointment).content)["STATUS"] == "CANCELLED"


class TestIcsAccess:
    """Another patient, another doctor and staff get the 404 of a visit that does not exist."""

    @pytest.fixture
    def appointment(self):
        return visit(doctor=tokyo_doctor(), starts_at=TOKYO_10AM)

    @pytest.mark.parametrize(
        "who",
        ["another patient", "another doctor", "staff"],
    )
    def test_anyone_but_its_patient_and_doctor_gets_404(self, client, appointment, who):
        user = {
            "another patient": lambda: PatientFactory(),
            "another doctor": lambda: DoctorFactory().user,
            "staff": lambda: StaffFactory(),
        }[who]()
        response = download(client, user, appointment)
        assert response.status_code == 404
        assert b"VCALENDAR" not in response.content

    def test_a_visitor_is_sent_to_log_in(self, client, appointment):
        response = client.get(ics_url(appointment))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))

    def test_an_unknown_appointment_is_404(self, client, appointment):
        client.force_login(appointment.patient)
        assert client.get(reverse("appointments:calendar", args=[appointment.pk + 1000])).status_code == 404


def make_feed(client, doctor) -> str:
    """The doctor makes a feed on their page; returns its URL as the page shows it."""
    client.force_login(doctor.user)
    response = client.post(FEED_PAGE, {"action": "issue"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    [url] = re.findall(r'id="feed-url"[^>]*>([^<]+)</textarea>', response.text)
    return url


def fetch(client, url: str):
    client.logout()  # calendar services fetch without a session
    return client.get(url)


class TestDoctorsFeed:
    def test_the_feed_lists_confirmed_and_under_way_visits_from_now_on_and_nothing_else(self, client):
        doctor = tokyo_doctor()
        confirmed = visit(doctor=doctor, starts_at=TOKYO_10AM)
        under_way = visit(doctor=doctor, starts_at=NOW - dt.timedelta(minutes=10), status="in_progress")
        left_out = [
            visit(doctor=doctor, starts_at=NOW - dt.timedelta(days=1)),  # confirmed, but over
            visit(doctor=doctor, starts_at=TOKYO_10AM + dt.timedelta(hours=1), status="canceled"),
            visit(doctor=doctor, starts_at=TOKYO_10AM + dt.timedelta(hours=2), status="pending_payment", paid=False),
            visit(doctor=doctor, starts_at=NOW - dt.timedelta(days=2), status="completed"),
            visit(doctor=new_york_doctor(), starts_at=TOKYO_10AM),  # another doctor's
        ]
        url = make_feed(client, doctor)

        response = fetch(client, url)

        assert response.status_code == 200
        assert response["Content-Type"] == "text/calendar; charset=utf-8"
        calendar = Calendar.from_ical(response.content)
        events = {event.uid: event for event in calendar.events}
        assert set(events) == {f"appointment-{a.pk}@hospital.test" for a in (confirmed, under_way)}
        assert not {f"appointment-{a.pk}@hospital.test" for a in left_out} & set(events)
        event = events[f"appointment-{confirmed.pk}@hospital.test"]
        assert event.start == TOKYO_10AM and str(event.start.tzinfo) == "Asia/Tokyo"
        assert event["LOCATION"] == "Sakura Clinic, 2-1 Marunouchi, Chiyoda, Room 3.02"
        assert event["SUMMARY"] == f"Appointment, booking #{confirmed.pk}"
        assert calendar.calendar_name == "Northbridge Hospital appointments"
        assert calendar.refresh_interval == dt.timedelta(hours=1)
        assert "X-PUBLISHED-TTL:PT1H" in response.content.decode()

    def test_the_feed_never_carries_a_patients_name_email_or_reason(self, client, settings):
        settings.VIDEO_BASE_URL = "https://video.hospital.invalid"
        doctor = new_york_doctor()
        patients = [patient_named("Imogen", "Quartermaine"), patient_named("Bartholomew", "Fitzwilliam")]
        reasons = ["Recurring migraines since March", "Second opinion on a mole"]
        for hours, (patient, reason) in enumerate(zip(patients, reasons, strict=True)):
            visit(patient=patient, doctor=doctor, starts_at=NEW_YORK_10AM + dt.timedelta(hours=hours), reason=reason)
        video = tokyo_doctor(visit_type=VisitType.VIDEO)
        video_visit = visit(patient=patients[0], doctor=video, starts_at=TOKYO_10AM, reason="Rash on both arms")

        for feed_doctor in (doctor, video):
            text = fetch(client, make_feed(client, feed_doctor)).content.decode()
            assert "BEGIN:VEVENT" in text
            for patient in patients:
                for private in (patient.first_name, patient.last_name, patient.email):
                    assert private not in text
            for private in (*reasons, "Rash", "migraine", "mole", video_visit.video_room):
                assert private.lower() not in text.lower()

    def test_the_token_is_kept_only_as_a_hash(self, client):
        doctor = tokyo_doctor()
        url = make_feed(client, doctor)
        token = url.rsplit("/", 1)[1].removesuffix(".ics")

        assert len(token) >= 43  # 256 random bits
        feed = DoctorCalendarFeed.objects.get(doctor=doctor)
        assert feed.token_hash == DoctorCalendarFeed.hash_token(token) != token
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM appointments_doctorcalendarfeed")
            assert token not in repr(cursor.fetchall())
        # ... and the page never shows it again.
        assert token not in client.get(FEED_PAGE).text

    def test_a_new_address_replaces_the_old_one_and_turning_it_off_makes_it_404(self, client):
        doctor = tokyo_doctor()
        visit(doctor=doctor, starts_at=TOKYO_10AM)
        old = make_feed(client, doctor)
        new = make_feed(client, doctor)

        assert new != old
        assert fetch(client, old).status_code == 404
        assert fetch(client, new).status_code == 200

        client.force_login(doctor.user)
        response = client.post(FEED_PAGE, {"action": "revoke"}, follow=True)
        assert "Your calendar feed is off: its address no longer works." in response.text
        assert "Make my feed address" in response.text
        assert fetch(client, new).status_code == 404
        assert not DoctorCalendarFeed.objects.exists()

    def test_an_unknown_token_and_a_closed_account_are_404(self, client):
        doctor = tokyo_doctor()
        url = make_feed(client, doctor)
        assert fetch(client, url[:-10] + "xxxxxx.ics").status_code == 404
        doctor.user.is_active = False
        doctor.user.save()
        assert fetch(client, url).status_code == 404

    def test_the_page_shows_when_a_calendar_app_last_fetched_the_feed(self, client):
        doctor = tokyo_doctor()
        url = make_feed(client, doctor)
        assert "Not yet" in client.get(FEED_PAGE).text

        with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
            fetch(client, url)
        client.force_login(doctor.user)
        page = client.get(FEED_PAGE).text
        assert "1 Jun 2026, 17:00 JST" in page  # on the doctor's clock
        assert "Not yet" not in page

    @pytest.mark.parametrize("count", [5, 40])
    def test_the_feed_costs_the_same_queries_however_many_visits_it_lists(
        self, client, django_assert_num_queries, count
    ):
        doctor = tokyo_doctor()
        for index in range(count):
            visit(doctor=doctor, starts_at=TOKYO_10AM + dt.timedelta(hours=index))
        url = make_feed(client, doctor)
        client.logout()

        # The feed, its visits, and the note of the fetch.
        with django_assert_num_queries(3):
            response = client.get(url)
        assert len(Calendar.from_ical(response.content).events) == count


class TestZoneRulesTravelWithTheCalendar:
    """A calendar app that does not know a zone's name reads its VTIMEZONE: the offsets there
    must be the doctor's own at each visit, daylight-saving changes included."""

    @staticmethod
    def offsets_at(content: bytes) -> dict[str, dt.timedelta]:
        calendar = Calendar.from_ical(content)
        rules = {timezone.tz_name: timezone.to_tz() for timezone in calendar.timezones}
        return {
            event.uid: rules[str(event.start.tzinfo)].utcoffset(event.start.replace(tzinfo=None))
            for event in calendar.events
        }

    def test_a_tokyo_visit_carries_plus_nine_hours(self, client):
        appointment = visit(doctor=tokyo_doctor(), starts_at=TOKYO_10AM)

        content = download(client, appointment.patient, appointment).content

        assert "TZOFFSETTO:+0900" in content.decode()
        assert list(self.offsets_at(content).values()) == [dt.timedelta(hours=9)]

    def test_a_new_york_feed_across_the_end_of_daylight_saving_has_both_offsets(self, client):
        doctor = new_york_doctor()
        summer = visit(doctor=doctor, starts_at=NEW_YORK_10AM)  # 10:00 EDT, -4
        winter = visit(doctor=doctor, starts_at=dt.datetime(2026, 11, 2, 15, tzinfo=dt.UTC))  # 10:00 EST, -5

        content = fetch(client, make_feed(client, doctor)).content

        assert self.offsets_at(content) == {
            f"appointment-{summer.pk}@hospital.test": dt.timedelta(hours=-4),
            f"appointment-{winter.pk}@hospital.test": dt.timedelta(hours=-5),
        }
        text = content.decode()
        assert text.count("BEGIN:VTIMEZONE") == 1 and text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
        assert "DTSTART:20261101T020000" in text  # clocks go back at 02:00 on 1 November

    def test_later_calendars_of_the_same_month_read_the_same_rules(self, client):
        doctor = new_york_doctor()
        first, second = (visit(doctor=doctor, starts_at=NEW_YORK_10AM + dt.timedelta(days=day)) for day in (0, 9))

        def zone_rules(appointment) -> str:
            text = download(client, appointment.patient, appointment).content.decode()
            return text[text.index("BEGIN:VTIMEZONE") : text.index("END:VTIMEZONE")]

        assert zone_rules(first) == zone_rules(second)
        assert "TZOFFSETTO:-0400" in zone_rules(first)


class TestFeedPage:
    def test_a_doctor_makes_the_address_and_reads_what_the_feed_shows(self, client):
        doctor = tokyo_doctor()
        client.force_login(doctor.user)

        page = client.get(FEED_PAGE)
        assert page.status_code == 200
        assert "Your calendar feed is off." in page.text
        assert "Never patients' names or their reasons for the visit" in page.text

        response = client.post(FEED_PAGE, {"action": "issue"})
        assert "Your new feed address" in response.text
        assert "It is shown only this once" in response.text
        assert 'href="webcal://testserver/appointments/calendar-feed/' in response.text
        assert_labels_name_fields(response.text)
        assert "Make a new address" in response.text and "Turn the feed off" in response.text

    def test_a_bad_action_is_a_message_and_changes_nothing(self, client):
        doctor = tokyo_doctor()
        client.force_login(doctor.user)
        response = client.post(FEED_PAGE, {"action": "delete-everything"})
        assert response.status_code == 400
        assert "That is not something this page can do with your calendar feed." in response.text
        assert not DoctorCalendarFeed.objects.exists()

    def test_revoking_a_feed_that_is_off_says_so(self, client):
        client.force_login(tokyo_doctor().user)
        response = client.post(FEED_PAGE, {"action": "revoke"})
        assert "Your calendar feed was already off." in response.text

    def test_each_doctor_manages_only_their_own_feed(self, client):
        first, second = tokyo_doctor(), new_york_doctor()
        make_feed(client, first)
        client.force_login(second.user)
        assert "Your calendar feed is off." in client.get(FEED_PAGE).text
        client.post(FEED_PAGE, {"action": "revoke"})
        assert DoctorCalendarFeed.objects.filter(doctor=first).exists()

    def test_patients_and_staff_cannot_use_it_and_visitors_log_in(self, client):
        for user in (PatientFactory(), StaffFactory()):
            client.force_login(user)
            assert client.get(FEED_PAGE).status_code == 403
            assert client.post(FEED_PAGE, {"action": "issue"}).status_code == 403
        assert not DoctorCalendarFeed.objects.exists()
        client.logout()
        assert client.get(FEED_PAGE)["Location"].startswith(reverse("accounts:login"))
