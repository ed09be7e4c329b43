"""Times as people read them: every time in the doctor's zone, named; the patient's own time beside
it when their zone differs; and one hold deadline everywhere, the Checkout session's expiry."""

import datetime as dt
import zoneinfo

import pytest

from accounts.models import PatientProfile
from appointments.services import appointments_expire_lapsed_holds
from hospital.models import OutboundEmail
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, UserFactory, hold_slot
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
