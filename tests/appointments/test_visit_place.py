"""Where a visit takes place, as patients and doctors see it: the place is copied onto the
appointment at booking, in-person visits name their site and room, and a video visit's link
shows from ten minutes before the start until its end. No test reaches a video server: the base
URL below is a name that never resolves (.invalid), and pages only print links to it."""

import datetime as dt
import html
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from appointments import selectors
from appointments.models import Appointment, AppointmentStatus
from hospital.models import Doctor, VisitType
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, StaffFactory, UserFactory, hold_slot, visit

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, tzinfo=UTC)  # a Monday
VIDEO_BASE = "https://video.hospital.invalid"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def visible_text(page: str) -> str:
    """A page's text as a reader meets it: tags gone, whitespace collapsed."""
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    return re.sub(r" ([,.)])", r"\1", text)


def tokyo_doctor(**kwargs) -> Doctor:
    kwargs.setdefault("site", "Sakura Clinic, 2-1 Marunouchi, Chiyoda")
    kwargs.setdefault("room", "Room 3.02")
    return DoctorFactory(
        user=UserFactory(first_name="Hiroshi", last_name="Tanaka", role="doctor"),
        timezone="Asia/Tokyo",
        fee_amount=8000,
        fee_currency="jpy",
        **kwargs,
    )


def new_york_doctor(**kwargs) -> Doctor:
    kwargs.setdefault("site", "Hudson Pavilion, 500 West 12th Street")
    kwargs.setdefault("room", "Suite 210")
    return DoctorFactory(
        user=UserFactory(first_name="Sofia", last_name="Marquez", role="doctor"), timezone="America/New_York", **kwargs
    )


# 10:00 on the doctor's own clock, the day after NOW.
TOKYO_10AM = dt.datetime(2026, 6, 2, 1, tzinfo=UTC)  # 10:00 JST
NEW_YORK_10AM = dt.datetime(2026, 6, 2, 14, tzinfo=UTC)  # 10:00 EDT


def slot_at(doctor: Doctor, starts_at: dt.datetime):
    return SlotFactory(doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30))


def detail(client, appointment: Appointment) -> str:
    """The appointment page as its patient reads it: its text, and (at the end) its links."""
    client.force_login(appointment.patient)
    response = client.get(reverse("appointments:detail", args=[appointment.pk]))
    assert response.status_code == 200
    links = " ".join(re.findall(r'href="([^"]+)"', response.text))
    return f"{visible_text(response.text)} LINKS: {links}"


class TestSnapshotAtBooking:
    def test_an_in_person_booking_keeps_its_site_and_room_when_the_doctor_moves_or_goes_video(self):
        doctor = tokyo_doctor()
        appointment = hold_slot(patient=PatientFactory(), slot=slot_at(doctor, TOKYO_10AM))

        Doctor.objects.filter(pk=doctor.pk).update(site="Annex, 9-9 Ginza", room="Room 9")
        doctor.refresh_from_db()
        doctor.visit_type = VisitType.VIDEO
        doctor.save()

        appointment.refresh_from_db()
        assert (appointment.visit_type, appointment.location_site, appointment.location_room) == (
            VisitType.IN_PERSON,
            "Sakura Clinic, 2-1 Marunouchi, Chiyoda",
            "Room 3.02",
        )
        assert appointment.video_room == ""
        # ... and the next booking takes the doctor's new settings.
        later = hold_slot(patient=PatientFactory(), slot=slot_at(doctor, TOKYO_10AM + dt.timedelta(hours=1)))
        assert later.visit_type == VisitType.VIDEO and later.location_site == ""

    def test_a_video_booking_gets_an_unguessable_room_of_its_own_and_keeps_it(self):
        doctor = new_york_doctor(visit_type=VisitType.VIDEO)
        first = hold_slot(patient=PatientFactory(), slot=slot_at(doctor, NEW_YORK_10AM))
        second = hold_slot(patient=PatientFactory(), slot=slot_at(doctor, NEW_YORK_10AM + dt.timedelta(hours=1)))

        assert first.visit_type == VisitType.VIDEO
        assert re.fullmatch(r"[0-9a-f]{32}", first.video_room)  # 128 random bits
        assert first.video_room != second.video_room
        assert (first.location_site, first.location_room) == ("", "")

        doctor.visit_type = VisitType.IN_PERSON
        doctor.save()
        first.refresh_from_db()
        assert first.visit_type == VisitType.VIDEO and len(first.video_room) == 32

    def test_the_database_refuses_a_video_visit_without_a_room_and_an_in_person_one_with_a_room(self):
        appointment = visit(doctor=tokyo_doctor())
        for change in ({"visit_type": VisitType.VIDEO}, {"video_room": "0" * 32}):
            with pytest.raises(IntegrityError), transaction.atomic():
                Appointment.objects.filter(pk=appointment.pk).update(**change)


class TestDoctorSettings:
    def test_in_person_needs_a_site_in_the_admin_form_and_in_the_database(self, staff_client):
        from tests.hospital.test_admin import doctor_form

        doctor = tokyo_doctor()
        url = reverse("admin:hospital_doctor_change", args=[doctor.pk])

        response = staff_client.post(url, doctor_form(doctor, []) | {"site": "  "})
        assert response.status_code == 200
        assert "In-person visits need a site, so patients know where to go." in response.text
        doctor.refresh_from_db()
        assert doctor.site == "Sakura Clinic, 2-1 Marunouchi, Chiyoda"

        with pytest.raises(IntegrityError), transaction.atomic():
            Doctor.objects.filter(pk=doctor.pk).update(site="")

    def test_a_video_doctor_needs_no_site_and_the_admin_saves_the_change(self, staff_client):
        from tests.hospital.test_admin import doctor_form

        doctor = tokyo_doctor()
        data = doctor_form(doctor, []) | {"visit_type": VisitType.VIDEO, "site": "", "room": ""}

        response = staff_client.post(reverse("admin:hospital_doctor_change", args=[doctor.pk]), data)

        assert response.status_code == 302
        doctor.refresh_from_db()
        assert (doctor.visit_type, doctor.site) == (VisitType.VIDEO, "")

    def test_the_model_explains_a_missing_site(self):
        doctor = Doctor(visit_type=VisitType.IN_PERSON, site="", fee_amount=5000, fee_currency="usd")
        with pytest.raises(ValidationError, match="In-person visits need a site"):
            doctor.clean()


class TestInPersonPlaceOnPages:
    @pytest.mark.parametrize(
        ("make_doctor", "starts_at", "when", "where"),
        [
            (tokyo_doctor, TOKYO_10AM, "10:00–10:30 JST", "Sakura Clinic, 2-1 Marunouchi, Chiyoda Room 3.02"),
            (new_york_doctor, NEW_YORK_10AM, "10:00–10:30 EDT", "Hudson Pavilion, 500 West 12th Street Suite 210"),
        ],
    )
    def test_the_confirm_page_and_the_appointment_page_name_the_site_and_room(
        self, client, make_doctor, starts_at, when, where
    ):
        slot = slot_at(make_doctor(), starts_at)
        patient = PatientFactory()
        client.force_login(patient)

        confirm = visible_text(client.get(reverse("appointments:book", args=[slot.pk])).text)
        assert when in confirm
        assert f"Where {where}" in confirm

        appointment = visit(patient=patient, doctor=slot.doctor, starts_at=starts_at + dt.timedelta(days=1))
        page = detail(client, appointment)
        assert f"Wednesday 3 June 2026, {when}" in page
        assert f"Where {where}" in page

    def test_the_appointment_page_shows_the_place_booked_not_the_doctors_new_one(self, client):
        doctor = tokyo_doctor()
        appointment = visit(doctor=doctor, starts_at=TOKYO_10AM)
        Doctor.objects.filter(pk=doctor.pk).update(site="Annex, 9-9 Ginza", room="Room 9")

        page = detail(client, appointment)

        assert "Where Sakura Clinic, 2-1 Marunouchi, Chiyoda Room 3.02" in page
        assert "Annex" not in page

    def test_a_canceled_visit_shows_no_place(self, client):
        appointment = visit(doctor=tokyo_doctor(), starts_at=TOKYO_10AM, status=AppointmentStatus.CANCELED)
        page = detail(client, appointment)
        assert "Sakura Clinic" not in page
        assert "Add to my calendar" not in page


class TestVideoLink:
    """The link shows from ten minutes before the start until the end, on the doctor's clock."""

    @pytest.fixture
    def video_visit(self, settings):
        settings.VIDEO_BASE_URL = VIDEO_BASE
        return visit(doctor=tokyo_doctor(visit_type=VisitType.VIDEO), starts_at=TOKYO_10AM)

    def link(self, appointment: Appointment) -> str:
        return f"{VIDEO_BASE}/{appointment.video_room}"

    def test_ten_minutes_and_one_second_before_the_start_the_page_says_when_the_link_appears(self, client, video_visit):
        with time_machine.travel(TOKYO_10AM - dt.timedelta(minutes=10, seconds=1), tick=False):
            page = detail(client, video_visit)
        assert video_visit.video_room not in page
        # The patient lives in London (the factory's profile): their own clock is beside the doctor's.
        assert (
            "The link to join appears here from 09:50 JST (your time: 01:50 BST), 10 minutes before the start." in page
        )

    def test_ten_minutes_before_the_start_the_link_shows(self, client, video_visit):
        with time_machine.travel(TOKYO_10AM - dt.timedelta(minutes=10), tick=False):
            page = detail(client, video_visit)
        assert self.link(video_visit) in page.partition(" LINKS: ")[2]
        assert "Join the video call" in page

    def test_the_link_stays_until_the_end_and_goes_with_it(self, client, video_visit):
        ends_at = video_visit.slot.ends_at
        with time_machine.travel(ends_at - dt.timedelta(seconds=1), tick=False):
            assert self.link(video_visit) in detail(client, video_visit)
        with time_machine.travel(ends_at, tick=False):
            page = detail(client, video_visit)
        assert self.link(video_visit) not in page
        assert "Video call" in page

    def test_a_visit_under_way_keeps_its_link_when_it_runs_over(self, client, settings):
        settings.VIDEO_BASE_URL = VIDEO_BASE
        started = NOW - dt.timedelta(minutes=45)  # a 30-minute slot, still under way
        appointment = visit(doctor=tokyo_doctor(visit_type=VisitType.VIDEO), starts_at=started, status="in_progress")
        assert self.link(appointment) in detail(client, appointment)

    def test_a_canceled_or_completed_video_visit_shows_no_link(self, client, settings):
        settings.VIDEO_BASE_URL = VIDEO_BASE
        doctor = tokyo_doctor(visit_type=VisitType.VIDEO)
        soon = NOW + dt.timedelta(minutes=5)
        for status in (AppointmentStatus.CANCELED, AppointmentStatus.COMPLETED):
            appointment = visit(doctor=doctor, starts_at=soon, status=status)
            soon += dt.timedelta(hours=1)
            assert appointment.video_room not in detail(client, appointment)

    def test_without_a_video_server_configured_no_link_shows_and_the_page_says_so(self, client, settings):
        settings.VIDEO_BASE_URL = ""
        appointment = visit(doctor=tokyo_doctor(visit_type=VisitType.VIDEO), starts_at=NOW + dt.timedelta(minutes=5))
        page = detail(client, appointment)
        assert appointment.video_room not in page
        assert "The hospital will send you the details to join the call." in page

    def test_the_new_york_page_says_when_on_the_doctors_clock_with_the_patients_own_beside_it(self, client, settings):
        settings.VIDEO_BASE_URL = VIDEO_BASE
        patient = PatientFactory(profile__timezone="Europe/London")
        appointment = visit(
            patient=patient, doctor=new_york_doctor(visit_type=VisitType.VIDEO), starts_at=NEW_YORK_10AM
        )
        page = detail(client, appointment)
        assert "The link to join appears here from 09:50 EDT (your time: 14:50 BST)" in page

    def test_the_confirm_page_of_a_video_doctor_says_where_the_link_will_be(self, client, settings):
        settings.VIDEO_BASE_URL = VIDEO_BASE
        slot = slot_at(new_york_doctor(visit_type=VisitType.VIDEO), NEW_YORK_10AM)
        client.force_login(PatientFactory())
        page = visible_text(client.get(reverse("appointments:book", args=[slot.pk])).text)
        assert "Where Video call" in page
        assert "The link to join appears on your appointment page 10 minutes before the start." in page
        assert "Hudson Pavilion" not in page

    def test_staff_see_that_it_is_a_video_call_but_not_its_link(self, client, video_visit):
        with time_machine.travel(TOKYO_10AM, tick=False):
            client.force_login(StaffFactory())  # at that time: staff idle longer are signed out
            response = client.get(reverse("appointments:detail", args=[video_visit.pk]))
        assert response.status_code == 200
        assert video_visit.video_room not in response.text
        assert "Only the patient and the doctor see the link." in response.text
        assert reverse("appointments:calendar", args=[video_visit.pk]) not in response.text

    def test_the_doctor_sees_the_same_link_in_the_same_window(self, settings, video_visit):
        """What the doctor's appointment page includes (appointments/includes/visit_place.html)."""
        doctor_user = video_visit.doctor.user

        def as_doctor_at(moment: dt.datetime) -> str:
            appointment = Appointment.objects.select_related("slot", "doctor").get(pk=video_visit.pk)
            selectors.with_visit_place(appointment, user=doctor_user, now=moment)
            return render_to_string("appointments/includes/visit_place.html", {"appointment": appointment})

        before = as_doctor_at(TOKYO_10AM - dt.timedelta(minutes=10, seconds=1))
        assert self.link(video_visit) not in before and "09:50 JST" in before
        assert f'href="{self.link(video_visit)}"' in as_doctor_at(TOKYO_10AM - dt.timedelta(minutes=10))
        assert reverse("appointments:calendar", args=[video_visit.pk]) in before


@pytest.mark.parametrize(
    ("base", "refused"),
    [("", False), ("https://meet.example.org", False), ("meet.example.org", True), ("ftp://x.org", True)],
)
def test_the_site_refuses_to_start_with_a_video_base_url_that_is_no_web_address(settings, base, refused):
    from appointments.checks import video_base_url_setting

    settings.VIDEO_BASE_URL = base
    assert bool(video_base_url_setting(None)) is refused
