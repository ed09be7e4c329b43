"""In a real browser: where a visit takes place on the patient's pages, the video link in its
window, the .ics a patient adds to a calendar, and the doctor's calendar feed page. Screenshots of
each at 1280 and 390 px wide go to test-artifacts/e2e/. The video server's address never resolves
(.invalid): pages only link to it."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from icalendar import Calendar
from playwright.sync_api import expect

from hospital.models import Slot, VisitType
from tests.e2e.test_accessibility import log_in
from tests.factories import DoctorFactory, PatientFactory, SpecialtyFactory, UserFactory, visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIDEO_BASE = "https://video.hospital.invalid"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def both_widths(page, screenshot, name: str) -> None:
    page.set_viewport_size(DESKTOP)
    screenshot(f"{name}-1280")
    page.set_viewport_size(PHONE)
    screenshot(f"{name}-390")
    page.set_viewport_size(DESKTOP)


def tokyo_video_doctor():
    return DoctorFactory(
        user=UserFactory(first_name="Hiroshi", last_name="Tanaka", role="doctor"),
        specialty=SpecialtyFactory(name="Orthopedics"),
        timezone="Asia/Tokyo",
        fee_amount=8000,
        fee_currency="jpy",
        visit_type=VisitType.VIDEO,
    )


def test_a_patient_sees_where_the_visit_is_and_adds_it_to_a_calendar(
    live_server, page, screenshot, bookable_doctor, settings
):
    settings.VIDEO_BASE_URL = VIDEO_BASE
    bookable_doctor.site = "Riverside Building, 1 Riverside Way"
    bookable_doctor.room = "Room 2.14, Cardiology outpatients (second floor)"
    bookable_doctor.save()
    patient = PatientFactory(email="pat@example.com", first_name="Pat")
    log_in(page, live_server.url, patient.email)

    slot = Slot.objects.bookable().filter(doctor=bookable_doctor).order_by("starts_at").first()
    page.goto(f"{live_server.url}/appointments/book/{slot.pk}/")
    expect(page.get_by_text("Room 2.14, Cardiology outpatients (second floor)")).to_be_visible()
    both_widths(page, screenshot, "place-01-confirm-in-person")

    # After the doctor's working hours, so no generated slot is there already.
    in_person = visit(patient=patient, doctor=bookable_doctor, starts_at=slot.starts_at + dt.timedelta(days=1, hours=6))
    page.goto(f"{live_server.url}/appointments/{in_person.pk}/")
    expect(page.get_by_role("heading", name="Where")).to_be_visible()
    both_widths(page, screenshot, "place-02-detail-in-person")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to my calendar").click()
    download = download_info.value
    assert download.suggested_filename == f"appointment-{in_person.pk}.ics"
    [event] = Calendar.from_ical(Path(download.path()).read_bytes()).events
    assert event.start == in_person.slot.starts_at
    assert event["LOCATION"] == "Riverside Building, 1 Riverside Way, Room 2.14, Cardiology outpatients (second floor)"

    video_doctor = tokyo_video_doctor()
    soon = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=5)
    open_now = visit(patient=patient, doctor=video_doctor, starts_at=soon)
    tomorrow = visit(patient=patient, doctor=video_doctor, starts_at=soon + dt.timedelta(days=1))

    page.goto(f"{live_server.url}/appointments/{tomorrow.pk}/")
    expect(page.get_by_text("The link to join appears here from")).to_be_visible()
    both_widths(page, screenshot, "place-03-detail-video-before-the-window")

    page.goto(f"{live_server.url}/appointments/{open_now.pk}/")
    join = page.get_by_role("link", name="Join the video call")
    expect(join).to_have_attribute("href", f"{VIDEO_BASE}/{open_now.video_room}")
    both_widths(page, screenshot, "place-04-detail-video-link-open")

    video_slot = Slot.objects.create(
        doctor=video_doctor, starts_at=soon + dt.timedelta(days=2), ends_at=soon + dt.timedelta(days=2, minutes=30)
    )
    page.goto(f"{live_server.url}/appointments/book/{video_slot.pk}/")
    expect(page.get_by_text("The link to join appears on your appointment page")).to_be_visible()
    both_widths(page, screenshot, "place-05-confirm-video")


def test_a_doctor_makes_a_feed_address_subscribes_and_turns_it_off(live_server, page, screenshot, client):
    doctor = tokyo_video_doctor()
    in_person = DoctorFactory()  # a patient's visit with another doctor never shows
    visit(doctor=doctor, starts_at=timezone.now() + dt.timedelta(days=1), reason="Sore shoulder")
    visit(doctor=in_person, starts_at=timezone.now() + dt.timedelta(days=1))
    log_in(page, live_server.url, doctor.user.email)

    page.goto(f"{live_server.url}/appointments/calendar-feed/")
    expect(page.get_by_text("Your calendar feed is off.")).to_be_visible()
    both_widths(page, screenshot, "feed-01-off")

    page.get_by_role("button", name="Make my feed address").click()
    address = page.get_by_label("Feed address")
    expect(address).to_be_visible()
    url = address.input_value()
    assert url.startswith(f"{live_server.url}/appointments/calendar-feed/")
    page.get_by_text("How to add it to a calendar app").click()
    both_widths(page, screenshot, "feed-02-new-address")

    feed = client.get(url.removeprefix(live_server.url))  # a calendar service, without a session
    [event] = Calendar.from_ical(feed.content).events
    assert event["LOCATION"] == "Video call" and "Sore shoulder" not in feed.content.decode()

    page.goto(f"{live_server.url}/appointments/calendar-feed/")
    expect(page.get_by_text("Last fetched")).to_be_visible()
    expect(page.get_by_label("Feed address")).to_have_count(0)  # shown once only
    both_widths(page, screenshot, "feed-03-on")

    page.get_by_role("button", name="Turn the feed off").click()
    expect(page.get_by_text("Your calendar feed is off: its address no longer works.")).to_be_visible()
    assert client.get(url.removeprefix(live_server.url)).status_code == 404
