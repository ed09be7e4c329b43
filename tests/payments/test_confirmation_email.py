"""The confirmation e-mail as the patient reads it: the visit's place on the doctor's clock, and
the visit's .ics attached (a text/calendar part), sent through the outbox like every e-mail, so
a retry sends the same attachment under the same Message-ID. Paid at the Stripe stand-in."""

import datetime as dt
import io
import smtplib
import zoneinfo

import pytest
from django.core import mail
from icalendar import Calendar
from pypdf import PdfReader

from appointments.models import AppointmentStatus
from hospital.models import EmailStatus, OutboundEmail, VisitType
from hospital.notifications import email_deliver
from tests.appointments.test_visit_place import new_york_doctor, tokyo_doctor
from tests.factories import SlotFactory
from tests.payments.flows import Flow

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def ten_oclock_in_three_days(zone: str) -> dt.datetime:
    """10:00 on the doctor's clock, three days from now (the stand-in runs on the real clock)."""
    day = dt.datetime.now(zoneinfo.ZoneInfo(zone)).date() + dt.timedelta(days=3)
    return dt.datetime.combine(day, dt.time(10), tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC)


def confirmed_and_paid(standin, client, doctor) -> Flow:
    starts_at = ten_oclock_in_three_days(doctor.timezone)
    slot = SlotFactory(doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30))
    flow = Flow(standin, client, slot=slot)
    flow.pay()
    flow.deliver(flow.events())
    assert flow.refresh().status == AppointmentStatus.CONFIRMED
    return flow


def confirmation_email(flow: Flow) -> OutboundEmail:
    return OutboundEmail.objects.get(key=f"appointment-confirmed:{flow.appointment.pk}")


def sent_calendar(message) -> Calendar:
    """The text/calendar part of a sent message, read back as a calendar app would."""
    [part] = [part for part in message.message().walk() if part.get_content_type() == "text/calendar"]
    assert part.get_filename().endswith(".ics")
    return Calendar.from_ical(part.get_payload(decode=True))


@pytest.mark.parametrize(
    ("make_doctor", "where"),
    [
        (tokyo_doctor, "Sakura Clinic, 2-1 Marunouchi, Chiyoda, Room 3.02"),
        (new_york_doctor, "Hudson Pavilion, 500 West 12th Street, Suite 210"),
    ],
)
def test_the_email_names_the_place_on_the_doctors_clock_and_attaches_the_visit(standin, client, make_doctor, where):
    doctor = make_doctor()
    flow = confirmed_and_paid(standin, client, doctor)

    email_deliver(email_id=confirmation_email(flow).pk)

    [message] = mail.outbox
    assert message.to == [flow.appointment.patient.email]
    lines = [line.strip() for line in message.body.splitlines()]
    abbreviation = flow.slot.starts_at.astimezone(doctor.zone).tzname()  # JST; EST or EDT by the season
    when = next(line for line in lines if line.startswith("When:"))
    assert when.endswith(f", 10:00 {abbreviation} ({doctor.timezone})")
    assert f"Where:    {where}" in lines
    assert "Please arrive ten minutes early." in message.body

    [event] = sent_calendar(message).events
    assert event.start == flow.slot.starts_at and str(event.start.tzinfo) == doctor.timezone
    assert (event.start.hour, event.start.minute) == (10, 0)
    assert event.end == flow.slot.ends_at
    assert event["LOCATION"] == where
    assert event.uid == f"appointment-{flow.appointment.pk}@hospital.test"


def test_a_video_visit_says_when_its_link_appears_and_the_attachment_carries_it(standin, client, settings):
    settings.VIDEO_BASE_URL = "https://video.hospital.invalid"
    flow = confirmed_and_paid(standin, client, tokyo_doctor(visit_type=VisitType.VIDEO))

    email_deliver(email_id=confirmation_email(flow).pk)

    [message] = mail.outbox
    lines = [line.strip() for line in message.body.splitlines()]
    where = lines.index("Where:    Video call")
    assert lines[where + 1] == (
        "The link to join appears on your appointment page from 09:50 JST, 10 minutes before the start."
    )
    assert "Please arrive" not in message.body
    assert flow.appointment.video_room not in message.body  # the link waits for the window on the page
    [event] = sent_calendar(message).events
    assert event["LOCATION"] == f"https://video.hospital.invalid/{flow.refresh().video_room}"


class RefusingMailServer:
    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_a_retry_sends_the_same_attachments_under_the_same_message_id(standin, client, settings):
    """The .ics is decided when queued; the receipt PDF is rendered by the first attempt and kept,
    so the retry after a refusing mail server sends the very same bytes of both."""
    flow = confirmed_and_paid(standin, client, tokyo_doctor())
    email = confirmation_email(flow)
    ics, receipt = email.attachments.all()
    assert (ics.filename, ics.mimetype) == (f"appointment-{flow.appointment.pk}.ics", "text/calendar")
    number = flow.refresh().payment.receipt.display_number
    assert (receipt.filename, receipt.mimetype, bytes(receipt.content)) == (f"{number}.pdf", "application/pdf", b"")

    settings.EMAIL_BACKEND = "tests.payments.test_confirmation_email.RefusingMailServer"
    with pytest.raises(smtplib.SMTPServerDisconnected):
        email_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.PENDING, 1)
    rendered = bytes(email.attachments.get(pk=receipt.pk).content)
    assert rendered.startswith(b"%PDF")

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=email.created_at)  # its backoff is over
    email_deliver(email_id=email.pk)

    [message] = mail.outbox
    assert message.extra_headers["Message-ID"] == email.message_id
    [(ics_name, ics_content, ics_type), (pdf_name, pdf_content, pdf_type)] = message.attachments
    assert (ics_name, ics_content, ics_type) == (ics.filename, bytes(ics.content).decode(), "text/calendar")
    assert (pdf_name, pdf_content, pdf_type) == (receipt.filename, rendered, "application/pdf")
    assert number in PdfReader(io.BytesIO(pdf_content)).pages[0].extract_text()
    assert sent_calendar(message).events[0].uid == f"appointment-{flow.appointment.pk}@hospital.test"
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
