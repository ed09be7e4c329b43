"""The patient's cancel and reschedule pages, and the move itself: one atomic step under locks,
no money moving, the refund clock kept on the original start."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from appointments.services import BookingError
from hospital.models import OutboundEmail
from payments.models import Payment, Refund
from payments.services import RescheduleRefused, appointment_cancel, appointment_reschedule
from tests.concurrency import run_concurrently
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, hold_slot, visit

pytestmark = pytest.mark.django_db


def _hours_ahead(hours: float) -> dt.datetime:
    return timezone.now().replace(microsecond=0) + dt.timedelta(hours=hours)


def paid_visit(*, hours_ahead: float = 72, **kwargs) -> Appointment:
    appointment = visit(starts_at=_hours_ahead(hours_ahead), **kwargs)
    Payment.objects.filter(appointment=appointment).update(payment_intent_id=f"pi_test_{appointment.pk}")
    return Appointment.objects.select_related("payment", "slot").get(pk=appointment.pk)


def _state(appointment: Appointment) -> tuple:
    """Everything a refused move must leave as it was."""
    appointment.refresh_from_db()
    payment = Payment.objects.get(appointment=appointment)
    return (
        appointment.slot_id,
        appointment.status,
        appointment.log_entries.count(),
        payment.amount,
        payment.refund_clock_at,
        payment.terms_copy(),
        OutboundEmail.objects.filter(key__startswith="appointment-moved").count(),
    )


# --- the move -----------------------------------------------------------------------------------


def test_moving_a_week_later_keeps_fee_payment_and_clock_so_a_cancel_is_refunded_by_the_original_start():
    appointment = paid_visit(hours_ahead=30)
    payment_before = Payment.objects.get(appointment=appointment)
    week_later = SlotFactory(doctor=appointment.doctor, starts_at=appointment.slot.starts_at + dt.timedelta(days=7))

    appointment_reschedule(appointment_id=appointment.pk, slot_id=week_later.pk, by=appointment.patient)

    appointment.refresh_from_db()
    payment = Payment.objects.get(appointment=appointment)
    assert appointment.slot == week_later
    assert (payment.pk, payment.amount, payment.captured_amount, payment.refund_clock_at, payment.terms_copy()) == (
        payment_before.pk,
        payment_before.amount,
        payment_before.captured_amount,
        payment_before.refund_clock_at,
        payment_before.terms_copy(),
    )
    assert not Refund.objects.exists()
    assert "You moved the appointment from" in appointment.log_entries.last().message
    # 6 days before the new start but 18 hours before the original one: half, not everything.
    quote = appointment_cancel(
        appointment_id=appointment.pk, by=appointment.patient, now=payment.refund_clock_at - dt.timedelta(hours=18)
    )
    assert (quote.percent, quote.amount) == (50, 2500)


def test_moving_earlier_counts_the_policy_from_the_new_start():
    appointment = paid_visit(hours_ahead=96)
    earlier = SlotFactory(doctor=appointment.doctor, starts_at=_hours_ahead(30))
    appointment_reschedule(appointment_id=appointment.pk, slot_id=earlier.pk, by=appointment.patient)

    quote = appointment_cancel(appointment_id=appointment.pk, by=appointment.patient, now=_hours_ahead(10))
    assert quote.percent == 50  # 20 hours before the new start, though 86 before the first one


def test_the_patient_is_emailed_the_new_time_with_a_new_calendar_file():
    appointment = paid_visit()
    new_slot = SlotFactory(doctor=appointment.doctor, starts_at=appointment.slot.starts_at + dt.timedelta(days=1))
    appointment_reschedule(appointment_id=appointment.pk, slot_id=new_slot.pk, by=appointment.patient)

    email = OutboundEmail.objects.get(key__startswith=f"appointment-moved:{appointment.pk}:")
    assert email.to == appointment.patient.email
    assert "has moved" in email.body and "New time:" in email.body
    ics = email.attachments.get()
    assert ics.filename == f"appointment-{appointment.pk}.ics"
    start = new_slot.starts_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M")
    local = new_slot.starts_at.astimezone(appointment.doctor.zone).strftime("%Y%m%dT%H%M")
    content = bytes(ics.content).decode()
    assert local in content or start in content
    assert appointment.reason not in email.body and appointment.reason not in email.subject


@pytest.mark.parametrize(
    ("hours_ahead", "moved"),
    [(3, True), (2, True), (1.99, False)],  # moving closes when the partial window does: 2 h before
)
def test_moving_closes_with_the_partial_refund_window(hours_ahead, moved):
    appointment = paid_visit(hours_ahead=72)
    new_slot = SlotFactory(doctor=appointment.doctor, starts_at=appointment.slot.starts_at + dt.timedelta(days=1))
    now = appointment.payment.refund_clock_at - dt.timedelta(hours=hours_ahead)
    before = _state(appointment)

    if moved:
        appointment_reschedule(appointment_id=appointment.pk, slot_id=new_slot.pk, by=appointment.patient, now=now)
        appointment.refresh_from_db()
        assert appointment.slot == new_slot
    else:
        with pytest.raises(RescheduleRefused, match="can no longer be moved online"):
            appointment_reschedule(appointment_id=appointment.pk, slot_id=new_slot.pk, by=appointment.patient, now=now)
        assert _state(appointment) == before


def test_a_move_is_refused_to_a_taken_blocked_past_or_other_doctors_slot_with_nothing_changed():
    appointment = paid_visit()
    doctor = appointment.doctor
    taken = visit(doctor=doctor, starts_at=_hours_ahead(100)).slot
    held = SlotFactory(doctor=doctor, starts_at=_hours_ahead(101))
    hold_slot(patient=PatientFactory(), slot=held)
    blocked = SlotFactory(doctor=doctor, starts_at=_hours_ahead(102), is_blocked=True)
    too_soon = SlotFactory(doctor=doctor, starts_at=_hours_ahead(0.5))  # online booking closed
    someone_elses = SlotFactory(doctor=DoctorFactory(), starts_at=_hours_ahead(103))
    before = _state(appointment)

    for slot, words in [
        (taken, "someone has just booked"),
        (held, "someone has just booked"),
        (blocked, "not available"),
        (too_soon, "not available"),
        (someone_elses, "this doctor's free times"),
        (appointment.slot, "at this time already"),
    ]:
        with pytest.raises(BookingError, match=words):
            appointment_reschedule(appointment_id=appointment.pk, slot_id=slot.pk, by=appointment.patient)
        assert _state(appointment) == before


def test_a_lapsed_hold_on_the_new_slot_is_ended_and_the_move_goes_through():
    appointment = paid_visit()
    slot = SlotFactory(doctor=appointment.doctor, starts_at=_hours_ahead(100))
    lapsed = hold_slot(patient=PatientFactory(), slot=slot, now=timezone.now() - dt.timedelta(hours=2))

    appointment_reschedule(appointment_id=appointment.pk, slot_id=slot.pk, by=appointment.patient)

    lapsed.refresh_from_db()
    appointment.refresh_from_db()
    assert (lapsed.status, appointment.slot_id) == (AppointmentStatus.EXPIRED, slot.pk)


def test_only_a_confirmed_visit_moves():
    appointment = paid_visit()
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.COMPLETED)
    slot = SlotFactory(doctor=appointment.doctor, starts_at=_hours_ahead(100))
    with pytest.raises(BookingError, match="completed cannot be moved"):
        appointment_reschedule(appointment_id=appointment.pk, slot_id=slot.pk, by=appointment.patient)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_patients_racing_to_move_into_one_slot_exactly_one_wins():
    assert connection.vendor == "postgresql"
    doctor = DoctorFactory()
    for round_ in range(5):
        visits = [paid_visit(doctor=doctor, hours_ahead=72 + round_ * 10 + n) for n in range(2)]
        target = SlotFactory(doctor=doctor, starts_at=_hours_ahead(300 + round_))
        movers = iter(visits)

        def move(movers=movers, target=target):
            mine = next(movers)
            return appointment_reschedule(appointment_id=mine.pk, slot_id=target.pk, by=mine.patient)

        results = run_concurrently(move, threads=2)

        moved = [result for result in results if isinstance(result, Appointment)]
        refused = [result for result in results if isinstance(result, BookingError)]
        assert (len(moved), len(refused)) == (1, 1), results
        assert "someone has just booked" in str(refused[0])
        assert Appointment.objects.filter(slot=target, status=AppointmentStatus.CONFIRMED).count() == 1
        loser = next(v for v in visits if v.pk != moved[0].pk)
        loser.refresh_from_db()
        assert loser.slot_id != target.pk


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_a_move_locks_the_slot_the_visit_ends_up_on():
    """The cancel reads the old slot id, then waits behind the move; after it, the appointment is
    on the new slot, which it then locks (free to take), and the cancel goes through."""
    assert connection.vendor == "postgresql"
    appointment = paid_visit()
    target = SlotFactory(doctor=appointment.doctor, starts_at=_hours_ahead(200))
    actions = iter(
        [
            lambda: appointment_reschedule(appointment_id=appointment.pk, slot_id=target.pk, by=appointment.patient),
            lambda: appointment_cancel(appointment_id=appointment.pk, by=appointment.patient),
        ]
    )
    results = run_concurrently(lambda: next(actions)(), threads=2)

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, BookingError)]
    assert unexpected == []
    appointment.refresh_from_db()
    assert appointment.status in (AppointmentStatus.CANCELED, AppointmentStatus.CONFIRMED)
    if appointment.status == AppointmentStatus.CANCELED:
        assert Refund.objects.filter(payment__appointment=appointment).count() == 1


# --- the pages ----------------------------------------------------------------------------------


class TestCancelPage:
    def test_shows_the_policy_and_the_exact_amount_then_cancels_and_303s_to_the_visit(self, client):
        appointment = paid_visit(hours_ahead=72)
        client.force_login(appointment.patient)
        detail = client.get(reverse("appointments:detail", args=[appointment.pk]))
        assert reverse("appointments:cancel", args=[appointment.pk]) in detail.text
        assert reverse("appointments:reschedule", args=[appointment.pk]) in detail.text

        page = client.get(reverse("appointments:cancel", args=[appointment.pk]))
        assert page.status_code == 200
        assert "Full refund ($50.00) if you cancel by" in page.text
        assert "If you cancel now, <strong>$50.00</strong> comes back to your card" in page.text

        response = client.post(reverse("appointments:cancel", args=[appointment.pk]))
        assert response.status_code == 303
        assert response["Location"] == reverse("appointments:detail", args=[appointment.pk])
        page = client.get(response["Location"])
        assert "This booking was canceled" in page.text and "You canceled it." in page.text
        assert "Refund of $50.00: <strong>pending</strong>" in page.text

    def test_inside_the_last_window_it_says_plainly_that_nothing_comes_back(self, client):
        appointment = paid_visit(hours_ahead=1.5)
        client.force_login(appointment.patient)
        page = client.get(reverse("appointments:cancel", args=[appointment.pk]))
        assert "Nothing comes back if you cancel now" in page.text
        assert "Cancel without a refund" in page.text
        assert page.text.index("Nothing comes back") < page.text.index("Cancel without a refund")

        client.post(reverse("appointments:cancel", args=[appointment.pk]))
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELED
        assert not Refund.objects.exists()

    def test_someone_elses_appointment_is_404_for_both_pages(self, client):
        appointment = paid_visit()
        client.force_login(PatientFactory())
        for name in ("appointments:cancel", "appointments:reschedule"):
            assert client.get(reverse(name, args=[appointment.pk])).status_code == 404
            assert client.post(reverse(name, args=[appointment.pk]), {"slot": appointment.slot_id}).status_code == 404
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CONFIRMED

    def test_a_visit_that_cannot_be_canceled_goes_back_to_its_page_with_why(self, client):
        appointment = paid_visit()
        Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.COMPLETED)
        client.force_login(appointment.patient)
        response = client.get(reverse("appointments:cancel", args=[appointment.pk]), follow=True)
        assert "completed cannot be canceled" in response.text


class TestReschedulePage:
    def test_lists_the_doctors_free_times_as_radio_buttons_and_moves_on_post(self, client):
        appointment = paid_visit()
        free = SlotFactory(doctor=appointment.doctor, starts_at=appointment.slot.starts_at + dt.timedelta(days=1))
        client.force_login(appointment.patient)

        page = client.get(reverse("appointments:reschedule", args=[appointment.pk]))
        assert page.status_code == 200
        assert f'type="radio" name="slot" value="{free.pk}"' in page.text
        assert f'value="{appointment.slot_id}"' not in page.text  # its own slot is not free

        response = client.post(reverse("appointments:reschedule", args=[appointment.pk]), {"slot": free.pk})
        assert response.status_code == 303
        appointment.refresh_from_db()
        assert appointment.slot == free

    def test_a_slot_taken_meanwhile_shows_the_page_again_with_the_reason(self, client):
        appointment = paid_visit()
        free = SlotFactory(doctor=appointment.doctor, starts_at=appointment.slot.starts_at + dt.timedelta(days=1))
        client.force_login(appointment.patient)
        client.get(reverse("appointments:reschedule", args=[appointment.pk]))
        other = SlotFactory(doctor=appointment.doctor, starts_at=free.starts_at + dt.timedelta(hours=1))
        hold_slot(patient=PatientFactory(), slot=free)

        response = client.post(reverse("appointments:reschedule", args=[appointment.pk]), {"slot": free.pk})
        assert response.status_code == 400  # no longer among the free times offered
        assert "Choose one of the free times below." in response.text
        assert f'value="{other.pk}"' in response.text and f'value="{free.pk}"' not in response.text
        appointment.refresh_from_db()
        assert appointment.slot_id != free.pk

    def test_outside_the_window_the_page_sends_the_patient_back(self, client):
        appointment = paid_visit(hours_ahead=1.5)
        client.force_login(appointment.patient)
        detail = client.get(reverse("appointments:detail", args=[appointment.pk]))
        assert reverse("appointments:reschedule", args=[appointment.pk]) not in detail.text
        response = client.get(reverse("appointments:reschedule", args=[appointment.pk]), follow=True)
        assert "can no longer be moved online" in response.text
