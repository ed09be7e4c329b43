"""Times as people read them: every time in the doctor's zone, named; the patient's own time beside
it when their zone differs; and one hold deadline everywhere, the Checkout session's expiry."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from accounts.models import PatientProfile
from appointments.services import appointments_expire_lapsed_holds
from hospital.models import OutboundEmail
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, StaffFactory, UserFactory, hold_slot
from tests.payments.flows import Flow

# --- E-mails -----------------------------------------------------------------------------------


def ten_oclock_local(zone: str, *, days_ahead: int = 3) -> dt.datetime:
    """10:00 on the doctor's wall clock a few days from now (the stand-in runs on the real clock)."""
    tz = zoneinfo.ZoneInfo(zone)
    day = (dt.datetime.now(tz) + dt.timedelta(days=days_ahead)).date()
    return dt.datetime.combine(day, dt.time(10), tzinfo=tz)


@pytest.mark.django_db
@pytest.mark.usefixtures("webhook_endpoint")
@pytest.mark.parametrize(
    ("zone", "abbreviations"),
    [("Asia/Tokyo", {"JST"}), ("America/New_York", {"EST", "EDT"}), ("Europe/Berlin", {"CET", "CEST"})],
)
def test_the_confirmation_email_gives_the_doctors_local_time_and_zone(standin, client, zone, abbreviations):
    starts = ten_oclock_local(zone)
    doctor = DoctorFactory(user=UserFactory(first_name="Kenji", last_name="Sato", role="doctor"), timezone=zone)
    flow = Flow(standin, client, slot=SlotFactory(doctor=doctor, starts_at=starts.astimezone(dt.UTC)))

    flow.pay()
    flow.deliver(flow.events())  # rendered in a request with UTC active, as a worker would

    body = OutboundEmail.objects.get(key=f"appointment-confirmed:{flow.appointment.pk}").body
    assert starts.tzname() in abbreviations
    assert f"{starts:%A} {starts.day} {starts:%B %Y}, 10:00 {starts.tzname()} ({zone})" in body
    assert "UTC" not in body


@pytest.mark.django_db
@pytest.mark.usefixtures("webhook_endpoint")
def test_the_late_payment_refund_email_names_the_visit_in_the_doctors_zone(standin, client):
    starts = ten_oclock_local("Asia/Tokyo")
    flow = Flow(standin, client, slot=SlotFactory(doctor=DoctorFactory(timezone="Asia/Tokyo"), starts_at=starts))
    flow.pay()
    appointments_expire_lapsed_holds(now=flow.appointment.hold_expires_at + dt.timedelta(seconds=1))
    hold_slot(patient=PatientFactory(), slot=flow.slot)  # someone else takes the time meanwhile

    flow.deliver(flow.events())

    body = OutboundEmail.objects.get(key=f"late-payment-refund:{flow.appointment.pk}").body
    assert f"{starts:%A} {starts.day} {starts:%B %Y}, 10:00 JST (Asia/Tokyo)" in " ".join(body.split())


@pytest.mark.django_db
@pytest.mark.usefixtures("webhook_endpoint")
def test_the_confirmation_email_adds_the_patients_time_when_their_zone_differs(standin, client):
    starts = ten_oclock_local("Asia/Tokyo")
    flow = Flow(standin, client, slot=SlotFactory(doctor=DoctorFactory(timezone="Asia/Tokyo"), starts_at=starts))
    PatientProfile.objects.filter(user=flow.appointment.patient).update(timezone="America/New_York")

    flow.pay()
    flow.deliver(flow.events())

    body = OutboundEmail.objects.get(key=f"appointment-confirmed:{flow.appointment.pk}").body
    theirs = starts.astimezone(zoneinfo.ZoneInfo("America/New_York"))  # the evening before
    assert "10:00 JST (Asia/Tokyo)" in body
    assert f"(your time: {theirs:%a} {theirs.day} {theirs:%b}, {theirs:%H:%M} {theirs.tzname()})" in body


# --- Pages -------------------------------------------------------------------------------------
# The page tests freeze the clock at NOW (06:00 UTC, 07:00 BST in London, 02:00 EDT in New York).

NOW = dt.datetime(2026, 6, 1, 6, tzinfo=dt.UTC)
PAY_BY = NOW + dt.timedelta(minutes=settings.CHECKOUT_SESSION_MINUTES)  # 07:35 BST
LIST = reverse("appointments:list")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def doctor_in(zone: str, first: str = "Amara", last: str = "Okafor"):
    return DoctorFactory(user=UserFactory(first_name=first, last_name=last, role="doctor"), timezone=zone)


def slot_of(doctor, starts_at: dt.datetime):
    return SlotFactory(doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30))


def patient_in(zone: str):
    return PatientFactory(profile__timezone=zone)


def logged_in(client, user):
    client.force_login(user)
    return client


TUESDAY_14_BST = dt.datetime(2026, 6, 2, 13, tzinfo=dt.UTC)


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen")
class TestTheHoldDeadlineIsTheCheckoutSessionsExpiry:
    def test_the_booking_page_promises_the_sessions_length(self, client):
        patient = patient_in("Europe/London")
        text = (
            logged_in(client, patient)
            .get(reverse("appointments:book", args=[slot_of(doctor_in("Europe/London"), TUESDAY_14_BST).pk]))
            .text
        )
        assert f"held for you for {settings.CHECKOUT_SESSION_MINUTES} minutes while you pay" in text

    def test_the_booking_page_of_ones_own_hold_gives_the_sessions_expiry(self, client):
        patient = patient_in("Europe/London")
        slot = slot_of(doctor_in("Europe/London"), TUESDAY_14_BST)
        hold_slot(patient=patient, slot=slot)

        text = logged_in(client, patient).get(reverse("appointments:book", args=[slot.pk])).text

        assert "held for you until <strong>07:35 BST</strong>" in text

    def test_the_detail_page_gives_the_sessions_expiry_and_the_minutes_left(self, client):
        patient = patient_in("Europe/London")
        appointment = hold_slot(patient=patient, slot=slot_of(doctor_in("Europe/London"), TUESDAY_14_BST))

        text = logged_in(client, patient).get(reverse("appointments:detail", args=[appointment.pk])).text

        local_pay_by = PAY_BY.astimezone(zoneinfo.ZoneInfo("Europe/London"))
        assert f'Awaiting payment — held until <time datetime="{local_pay_by.isoformat()}">07:35 BST</time>' in text
        assert f"({settings.CHECKOUT_SESSION_MINUTES}\xa0minutes left)" in text

    def test_the_list_gives_the_sessions_expiry(self, client):
        patient = patient_in("Europe/London")
        hold_slot(patient=patient, slot=slot_of(doctor_in("Europe/London"), TUESDAY_14_BST))

        text = logged_in(client, patient).get(LIST).text

        assert ">07:35 BST</time>" in text
        assert f"({settings.CHECKOUT_SESSION_MINUTES}\xa0minutes left)" in text

    def test_after_the_session_expired_the_pages_no_longer_offer_to_pay(self, client, frozen):
        patient = patient_in("Europe/London")
        appointment = hold_slot(patient=patient, slot=slot_of(doctor_in("Europe/London"), TUESDAY_14_BST))
        frozen.move_to(PAY_BY + dt.timedelta(minutes=1))  # inside the grace the hold keeps internally
        assert appointment.hold_expires_at > PAY_BY + dt.timedelta(minutes=1)

        listing = logged_in(client, patient).get(LIST).text
        detail = client.get(reverse("appointments:detail", args=[appointment.pk])).text

        assert 'badge-grey">Hold lapsed</span>' in listing
        assert "held until" not in listing and "Pay now" not in listing
        assert "Awaiting payment — held until" not in detail and "Pay now" not in detail


@pytest.mark.django_db
@pytest.mark.usefixtures("webhook_endpoint")
def test_after_resuming_payment_the_pages_give_the_new_sessions_expiry(standin, client):
    flow = Flow(standin, client)
    later = flow.appointment.created_at + dt.timedelta(minutes=34)
    flow.open_checkout(now=later)  # "resume payment": a second attempt, a new session
    new_expiry = later + dt.timedelta(minutes=settings.CHECKOUT_SESSION_MINUTES)
    shown = new_expiry.astimezone(zoneinfo.ZoneInfo(flow.slot.doctor.timezone))

    with time_machine.travel(later, tick=False):
        text = (
            logged_in(client, flow.appointment.patient)
            .get(reverse("appointments:detail", args=[flow.appointment.pk]))
            .text
        )

    assert f">{shown:%H:%M} {shown.tzname()}</time>" in text
    assert f"({settings.CHECKOUT_SESSION_MINUTES}\xa0minutes left)" in text


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen")
class TestThePatientsOwnTimeBesideTheDoctors:
    def test_the_list_shows_the_patients_time_where_their_zone_differs(self, client):
        patient = patient_in("America/New_York")
        hold_slot(patient=patient, slot=slot_of(doctor_in("Europe/London"), TUESDAY_14_BST))

        text = logged_in(client, patient).get(LIST).text

        assert "Tuesday 2 June 2026, 14:00" in text
        assert "BST · Europe/London" in text
        assert "(your time: 09:00 EDT)" in text
        assert "(your time: 02:35 EDT)" in text  # the hold deadline too

    def test_holds_made_at_one_moment_read_as_one_moment_on_the_patients_clock(self, client):
        patient = patient_in("Europe/London")
        for hours, zone in enumerate(["Europe/Berlin", "America/New_York", "Europe/London"], start=5):
            hold_slot(patient=patient, slot=slot_of(doctor_in(zone, last=zone), NOW + dt.timedelta(hours=hours)))

        text = logged_in(client, patient).get(LIST).text

        assert ">08:35 CEST</time>" in text and ">02:35 EDT</time>" in text and ">07:35 BST</time>" in text
        assert text.count("(your time: 07:35 BST)") == 2  # not beside the London doctor's own 07:35 BST

    def test_the_detail_page_shows_the_patients_time(self, client):
        patient = patient_in("Asia/Tokyo")
        appointment = hold_slot(patient=patient, slot=slot_of(doctor_in("Europe/London"), TUESDAY_14_BST))

        text = logged_in(client, patient).get(reverse("appointments:detail", args=[appointment.pk])).text

        assert "Tuesday 2 June 2026, 14:00–14:30 BST" in text
        assert "(your time: 22:00 JST)" in text
        assert "(your time: 15:35 JST)" in text  # the hold deadline

    def test_the_booking_page_shows_the_patients_time(self, client):
        patient = patient_in("America/New_York")
        slot = slot_of(doctor_in("Asia/Tokyo"), dt.datetime(2026, 6, 3, 1, tzinfo=dt.UTC))  # 10:00 JST

        text = logged_in(client, patient).get(reverse("appointments:book", args=[slot.pk])).text

        assert "Wednesday 3 June 2026" in text and "10:00–10:30" in text and "JST" in text
        assert "(your time: Tue 2 Jun, 21:00 EDT)" in text

    def test_no_second_time_when_the_patients_zone_reads_the_same(self, client):
        patient = patient_in("Europe/Guernsey")  # another name, the same clock as London's
        appointment = hold_slot(patient=patient, slot=slot_of(doctor_in("Europe/London"), TUESDAY_14_BST))

        listing = logged_in(client, patient).get(LIST).text
        detail = client.get(reverse("appointments:detail", args=[appointment.pk])).text

        assert "your time" not in listing and "your time" not in detail

    def test_staff_see_the_doctors_time_only(self, client):
        appointment = hold_slot(
            patient=patient_in("Asia/Tokyo"), slot=slot_of(doctor_in("Europe/London"), TUESDAY_14_BST)
        )

        text = logged_in(client, StaffFactory()).get(reverse("appointments:detail", args=[appointment.pk])).text

        assert "Tuesday 2 June 2026, 14:00–14:30 BST" in text
        assert "your time" not in text

    def test_the_timeline_and_payment_times_are_in_the_doctors_zone_with_the_patients_beside(self, client):
        patient = patient_in("America/New_York")
        appointment = hold_slot(patient=patient, slot=slot_of(doctor_in("Europe/London"), TUESDAY_14_BST))

        text = logged_in(client, patient).get(reverse("appointments:detail", args=[appointment.pk])).text

        timeline = text[text.index("Timeline") :]
        assert "1 Jun 2026, 07:00 BST" in timeline and "(your time: 02:00 EDT)" in timeline
