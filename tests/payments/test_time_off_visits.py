"""A doctor's time off over confirmed visits: cancel and refund them all, or move them all to the
earliest free times after it, in one step; if one cannot move, nothing changes."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffGroup
from appointments.models import Appointment, AppointmentStatus
from hospital.models import OutboundEmail, Slot, TimeOff
from payments.models import CancellationPolicy, Payment, Refund, RefundReason
from tests.factories import DoctorFactory, PatientFactory, SlotFactory, StaffFactory, hold_slot, visit

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def _at(days: float) -> dt.datetime:
    return timezone.now().replace(microsecond=0) + dt.timedelta(days=days)


def _paid(doctor, starts_at, name="Pat Patel"):
    first, last = name.split()
    appointment = visit(doctor=doctor, starts_at=starts_at, patient=PatientFactory(first_name=first, last_name=last))
    Payment.objects.filter(appointment=appointment).update(payment_intent_id=f"pi_test_{appointment.pk}")
    return appointment


@pytest.fixture
def doctor():
    return DoctorFactory(timezone="Europe/London")


@pytest.fixture
def doctor_client(client, doctor):
    client.force_login(doctor.user)
    return client


def _ask(client, *, first_day, last_day, **visits):
    data = {"first_day": first_day.isoformat(), "last_day": last_day.isoformat(), "reason": "Conference"}
    data.update({f"visits-{name}": value for name, value in visits.items()})
    return client.post(reverse("portal:time_off_add"), data)


def _span(doctor, days_ahead: int):
    """A whole day off, `days_ahead` days from today on the doctor's clock, and that day's noon."""
    day = timezone.localtime(timezone.now(), doctor.zone).date() + dt.timedelta(days=days_ahead)
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=doctor.zone)
    return day, noon


def test_the_page_names_the_visits_and_asks_then_cancel_all_refunds_each_in_full(doctor_client, doctor):
    day, noon = _span(doctor, 5)
    first, second = _paid(doctor, noon, "Ann Lee"), _paid(doctor, noon + dt.timedelta(hours=1), "Bo Chan")

    asked = _ask(doctor_client, first_day=day, last_day=day)
    assert asked.status_code == 200
    assert "2 confirmed visits in this time off" in asked.text
    assert "Ann Lee" in asked.text and "Bo Chan" in asked.text
    assert not TimeOff.objects.exists()

    no_note = _ask(doctor_client, first_day=day, last_day=day, resolution="cancel", note="")
    assert "Please write a message for the patients" in no_note.text
    assert not TimeOff.objects.exists()

    done = _ask(doctor_client, first_day=day, last_day=day, resolution="cancel", note="I am at a conference.")
    assert done.status_code == 302
    assert TimeOff.objects.filter(doctor=doctor).count() == 1
    for appointment in (first, second):
        appointment.refresh_from_db()
        assert (appointment.status, appointment.cancel_reason, appointment.cancel_note) == (
            AppointmentStatus.CANCELED,
            "doctor",
            "I am at a conference.",
        )
        refund = Refund.objects.get(payment__appointment=appointment)
        assert (refund.amount, refund.reason) == (5000, RefundReason.DOCTOR_CANCELED)
        assert (
            "Why: I am at a conference." in OutboundEmail.objects.get(key=f"appointment-canceled:{appointment.pk}").body
        )
    # Their slots survive (the canceled bookings refer to them) but nobody can book them.
    assert not Slot.objects.bookable().filter(doctor=doctor, starts_at__lt=noon + DAY, starts_at__gte=noon).exists()


def test_move_all_takes_the_earliest_free_slots_after_the_time_off_in_order(doctor_client, doctor):
    day, noon = _span(doctor, 5)
    first, second = _paid(doctor, noon, "Ann Lee"), _paid(doctor, noon + dt.timedelta(hours=1), "Bo Chan")
    after = dt.datetime.combine(day + DAY, dt.time(0), tzinfo=doctor.zone)
    later = SlotFactory(doctor=doctor, starts_at=after + dt.timedelta(hours=12))
    earliest = SlotFactory(doctor=doctor, starts_at=after + dt.timedelta(hours=9))
    _paid(doctor, after + dt.timedelta(hours=10), "Cy Diaz")  # taken: passed over
    clock_before = Payment.objects.get(appointment=first).refund_clock_at

    done = _ask(doctor_client, first_day=day, last_day=day, resolution="move", note="I am at a conference.")

    assert done.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.slot_id, second.slot_id) == (earliest.pk, later.pk)
    assert first.status == second.status == AppointmentStatus.CONFIRMED
    assert Payment.objects.get(appointment=first).refund_clock_at == clock_before
    assert not Refund.objects.exists()
    email = OutboundEmail.objects.get(key__startswith=f"appointment-moved:{first.pk}:")
    assert "Why: I am at a conference." in email.body and email.attachments.get().filename.endswith(".ics")
    assert TimeOff.objects.filter(doctor=doctor).count() == 1


def test_if_one_visit_cannot_move_nothing_changes_and_the_page_says_which(doctor_client, doctor):
    day, noon = _span(doctor, 5)
    first, second = _paid(doctor, noon, "Ann Lee"), _paid(doctor, noon + dt.timedelta(hours=1), "Bo Chan")
    only = SlotFactory(doctor=doctor, starts_at=dt.datetime.combine(day + DAY, dt.time(9), tzinfo=doctor.zone))

    response = _ask(doctor_client, first_day=day, last_day=day, resolution="move", note="Away.")

    assert response.status_code == 200
    assert "Nothing was changed: there are not enough free times" in response.text
    assert "Bo Chan" in response.text
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.slot.starts_at, second.slot.starts_at) == (noon, noon + dt.timedelta(hours=1))
    assert not TimeOff.objects.exists()
    assert not OutboundEmail.objects.filter(key__startswith="appointment-moved").exists()
    assert not Appointment.objects.filter(slot=only).exists()


def test_a_hold_being_paid_for_in_the_span_refuses_the_time_off(doctor_client, doctor):
    day, noon = _span(doctor, 5)
    confirmed = _paid(doctor, noon)
    held = hold_slot(patient=PatientFactory(), slot=SlotFactory(doctor=doctor, starts_at=noon + dt.timedelta(hours=2)))

    response = _ask(doctor_client, first_day=day, last_day=day, resolution="cancel", note="Away.")

    assert "A patient is paying for a visit in this time right now" in response.text
    assert not TimeOff.objects.exists()
    confirmed.refresh_from_db()
    held.refresh_from_db()
    assert (confirmed.status, held.status) == (AppointmentStatus.CONFIRMED, AppointmentStatus.PENDING_PAYMENT)
    assert not Refund.objects.exists()


# --- the policy's admin page --------------------------------------------------------------------


def _staff_in(group: StaffGroup):
    user = StaffFactory(is_superuser=False)
    user.groups.add(Group.objects.get(name=group.value))
    return user


@pytest.fixture
def staff_groups(db):
    from accounts.staff_groups import staff_groups_apply

    staff_groups_apply()


URL = "admin:payments_cancellationpolicy_change"


def test_only_administrators_change_the_policy_and_the_form_explains_bad_terms(client, staff_groups):
    policy = CancellationPolicy.row()
    url = reverse(URL, args=[policy.pk])

    client.force_login(_staff_in(StaffGroup.BILLING))
    assert "Save" not in client.get(url).text  # billing staff read it
    client.post(url, {"full_refund_hours": 48, "partial_refund_hours": 2, "partial_refund_percent": 50})
    policy.refresh_from_db()
    assert policy.full_refund_hours == 24

    client.force_login(_staff_in(StaffGroup.ADMINISTRATOR))
    bad = client.post(url, {"full_refund_hours": 2, "partial_refund_hours": 24, "partial_refund_percent": 150})
    assert "The partial window must end no earlier than the full one" in bad.text
    assert "A refund is at most 100 % of the fee." in bad.text
    policy.refresh_from_db()
    assert (policy.full_refund_hours, policy.partial_refund_percent) == (24, 50)

    admin = _staff_in(StaffGroup.ADMINISTRATOR)
    client.force_login(admin)
    ok = client.post(url, {"full_refund_hours": 48, "partial_refund_hours": 6, "partial_refund_percent": 25})
    assert ok.status_code == 302
    policy.refresh_from_db()
    assert (
        policy.full_refund_hours,
        policy.partial_refund_hours,
        policy.partial_refund_percent,
        policy.updated_by,
    ) == (
        48,
        6,
        25,
        admin,
    )


def test_the_policy_is_one_row_no_add_no_delete(client, staff_groups):
    client.force_login(_staff_in(StaffGroup.ADMINISTRATOR))
    listing = client.get(reverse("admin:payments_cancellationpolicy_changelist"))
    assert listing.status_code == 302 and listing["Location"] == reverse(URL, args=[1])
    assert client.get(reverse("admin:payments_cancellationpolicy_add")).status_code == 403
    assert client.get(reverse("admin:payments_cancellationpolicy_delete", args=[1])).status_code == 403
    assert CancellationPolicy.objects.count() == 1
