"""The e-mails a patient gets about money and holds, through the real flow at the Stripe stand-in
and the real worker: each fact recorded once and sent once however often Stripe tells it, both
parts of each e-mail on the doctor's clock, and never a word of Stripe's developer text."""

import datetime as dt
import re
from email import message_from_bytes

import pytest
from django.core import mail
from icalendar import Calendar

from accounts.models import Role, User
from appointments.emails import visit_headline
from appointments.models import AppointmentStatus as A
from appointments.services import appointments_expire_lapsed_holds
from hospital.models import EmailStatus, OutboundEmail
from payments.card_failures import DECLINED, NOT_CONFIRMED
from payments.models import Refund, RefundFollowUp, RefundStatus
from payments.services.cancellation import appointment_cancel
from tests.appointments.test_visit_place import new_york_doctor, tokyo_doctor
from tests.factories import StaffFactory
from tests.payments.flows import Flow, run_tasks, with_repeats
from tests.payments.test_confirmation_email import confirmed_and_paid

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("webhook_endpoint")]

DECLINING_CARD = "4000000000000002"
AUTHENTICATING_CARD = "4000002500003155"
# What Stripe writes for developers, and its identifiers: none of it may reach a patient.
STRIPE_TEXT = re.compile(
    r"Stripe|stripe\.com|PaymentMethod|payment_method|card_declined|generic_decline|authentication_failure"
    r"|\b(?:pi|ch|re|cs|evt|pm|cus)_[A-Za-z0-9]{6,}"
)


def parts(message) -> tuple[str, str]:
    """The plain-text and HTML parts of a sent message, as a mail client reads them."""
    parsed = message_from_bytes(message.message().as_bytes())
    [text] = [part for part in parsed.walk() if part.get_content_type() == "text/plain"]
    [html] = [part for part in parsed.walk() if part.get_content_type() == "text/html"]
    return text.get_payload(decode=True).decode(), html.get_payload(decode=True).decode()


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def assert_patients_read_no_stripe_text() -> None:
    patients_emails = OutboundEmail.objects.filter(to__in=User.objects.filter(role=Role.PATIENT).values("email"))
    assert patients_emails.exists()
    for email in patients_emails:
        for body in (email.body, email.html_body):
            assert not STRIPE_TEXT.search(body), (email.key, STRIPE_TEXT.search(body))


@pytest.mark.parametrize(("make_doctor", "clock"), [(tokyo_doctor, "10:00 JST (Asia/Tokyo)"), (new_york_doctor, None)])
def test_the_confirmation_has_both_parts_on_the_doctors_clock_and_its_calendar_file(
    standin, client, make_doctor, clock
):
    doctor = make_doctor()
    flow = confirmed_and_paid(standin, client, doctor)
    clock = clock or f"10:00 {flow.slot.starts_at.astimezone(doctor.zone).tzname()} (America/New_York)"

    run_tasks()

    [message] = sent_to(flow.appointment.patient.email)
    parsed = message_from_bytes(message.message().as_bytes())
    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed.get_payload()[0].get_content_type() == "multipart/alternative"
    text, html = parts(message)
    for body in (text, html):
        assert clock in body
        assert "(your time: " in body  # the patient's own clock (London) beside it
        assert f"http://127.0.0.1:8000/appointments/{flow.appointment.pk}/" in body
    assert '<th scope="row"' in html and "Please arrive ten minutes early." in html
    [event] = Calendar.from_ical(message.attachments[0][1]).events
    assert event.start == flow.slot.starts_at and str(event.start.tzinfo) == doctor.timezone
    assert OutboundEmail.objects.get(key=f"appointment-confirmed:{flow.appointment.pk}").status == EmailStatus.SENT


def test_every_event_told_twice_still_records_and_sends_each_email_once(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    events = flow.events()
    flow.deliver(with_repeats(events))
    run_tasks()
    flow.deliver(with_repeats(events))  # told again after the e-mail went out
    patient = flow.appointment.patient

    appointment_cancel(appointment_id=flow.appointment.pk, by=patient)
    run_tasks()  # the refund worker issues it, then the e-mails go
    refund_events = flow.events()
    flow.deliver(with_repeats(refund_events))
    run_tasks()
    flow.deliver(with_repeats(refund_events))
    run_tasks()

    assert [message.subject for message in sent_to(patient.email)] == [
        f"Appointment confirmed: {visit_headline(flow.appointment)}",
        f"Booking #{flow.appointment.pk} canceled",
        "Your refund of $50.00 has gone through",
    ]
    keys = sorted(OutboundEmail.objects.filter(to=patient.email).values_list("key", flat=True))
    refund = Refund.objects.get(payment=flow.appointment.payment)
    assert keys == sorted(
        [
            f"appointment-confirmed:{flow.appointment.pk}",
            f"appointment-canceled:{flow.appointment.pk}",
            f"refund-succeeded:{refund.pk}",
        ]
    )
    message_ids = [message.extra_headers["Message-ID"] for message in sent_to(patient.email)]
    assert len(set(message_ids)) == 3
    text, html = parts(sent_to(patient.email)[2])
    assert "Your refund of $50.00" in text and "Your refund of <strong>$50.00</strong>" in html
    assert_patients_read_no_stripe_text()


def test_each_failed_card_attempt_is_told_once_in_plain_words_with_the_way_back_while_the_hold_lives(standin, client):
    flow = Flow(standin, client)
    flow.pay(card=DECLINING_CARD)
    declined = flow.events()
    flow.pay(card=AUTHENTICATING_CARD)
    standin.control(f"checkout/sessions/{flow.session_id}/authenticate", complete=False)
    not_confirmed = flow.events()

    flow.deliver(with_repeats(declined))
    flow.deliver(with_repeats(not_confirmed))
    run_tasks()
    flow.deliver(with_repeats(declined))
    run_tasks()

    patient = flow.appointment.patient
    failures = sent_to(patient.email)
    assert [message.subject for message in failures] == [
        f"Your payment did not go through: {visit_headline(flow.appointment)}"
    ] * 2
    assert OutboundEmail.objects.filter(key__startswith=f"payment-failed:{flow.appointment.pk}:").count() == 2
    (first_text, first_html), (second_text, _) = parts(failures[0]), parts(failures[1])
    assert DECLINED in first_text and DECLINED in first_html
    assert NOT_CONFIRMED in second_text
    link = f"http://127.0.0.1:8000/appointments/{flow.appointment.pk}/"
    assert link in first_text and f'href="{link}"' in first_html and "Try again" in first_html
    assert "We are holding the time for you until" in first_text
    assert_patients_read_no_stripe_text()


def test_a_lapsed_hold_is_told_once_and_a_late_payment_then_confirms_with_its_own_email(standin, client):
    flow = Flow(standin, client)
    flow.pay()
    lapsed_at = flow.appointment.hold_expires_at + dt.timedelta(seconds=1)

    assert appointments_expire_lapsed_holds(now=lapsed_at) == 1
    assert appointments_expire_lapsed_holds(now=lapsed_at) == 0
    flow.deliver(with_repeats(flow.events()))  # the payment made before the lapse arrives now
    run_tasks()

    patient = flow.appointment.patient
    assert flow.refresh().status == A.CONFIRMED
    assert [message.subject for message in sent_to(patient.email)] == [
        f"Your hold has ended: {visit_headline(flow.appointment)}",
        f"Appointment confirmed: {visit_headline(flow.appointment)}",
    ]
    text, html = parts(sent_to(patient.email)[0])
    book_again = f"http://127.0.0.1:8000/doctors/{flow.appointment.doctor_id}/"
    assert book_again in text and f'href="{book_again}"' in html
    assert "If a payment from you is still on its way" in text


def test_an_expired_payment_page_ends_the_hold_with_the_same_email(standin, client):
    flow = Flow(standin, client)
    standin.expire(flow.session_id)
    flow.deliver(with_repeats(flow.events()))
    run_tasks()

    assert flow.refresh().status == A.EXPIRED
    [message] = sent_to(flow.appointment.patient.email)
    assert message.subject == f"Your hold has ended: {visit_headline(flow.appointment)}"


def canceled_by_the_patient_with_staff_on_duty(standin, client) -> Flow:
    """A paid visit the patient canceled in the full-refund window: its refund is requested."""
    StaffFactory(email="desk@example.com")
    flow = Flow(standin, client)
    flow.pay()
    flow.deliver(flow.events())
    appointment_cancel(appointment_id=flow.appointment.pk, by=flow.appointment.patient)
    return flow


def test_a_refund_stripe_refuses_tells_staff_once_and_the_patient_in_plain_words(standin, client):
    flow = canceled_by_the_patient_with_staff_on_duty(standin, client)
    standin.refund(flow.payment_intent_id)  # someone refunded it in the Dashboard meanwhile

    run_tasks()
    run_tasks()

    refund = Refund.objects.get(payment=flow.appointment.payment, requested_by__isnull=False)
    assert (refund.status, refund.follow_up) == (RefundStatus.FAILED, RefundFollowUp.NEEDS_STAFF)
    [alert] = sent_to("desk@example.com")
    assert alert.subject == f"Refund #{refund.pk} failed and needs attention"
    assert "Stripe said:" in parts(alert)[1]
    patient_copy = sent_to(flow.appointment.patient.email)[-1]
    assert patient_copy.subject == "Your refund did not go through"
    text, html = parts(patient_copy)
    assert "our payment provider could not send it back to the card" in text
    assert "A member of our staff will contact you" in html
    assert_patients_read_no_stripe_text()


def test_a_refund_the_bank_returns_twice_tells_staff_once_and_the_patient_once(standin, client):
    flow = canceled_by_the_patient_with_staff_on_duty(standin, client)
    run_tasks()
    flow.deliver(flow.events())
    refund = Refund.objects.get(payment=flow.appointment.payment)
    standin.control(f"refunds/{refund.stripe_refund_id}/fail", failure_reason="lost_or_stolen_card")
    failed = flow.events()

    flow.deliver(with_repeats(failed))
    run_tasks()
    flow.deliver(with_repeats(failed))
    run_tasks()

    assert [m.subject for m in sent_to("desk@example.com")] == [
        f"Refund #{refund.pk} failed at the bank and needs a person"
    ]
    subjects = [m.subject for m in sent_to(flow.appointment.patient.email)]
    assert subjects.count("Your refund did not go through") == 1
    assert "the card was reported lost or stolen" in parts(sent_to(flow.appointment.patient.email)[-1])[0]
    assert_patients_read_no_stripe_text()
