"""The patient's booking pages as a user sees them: confirm page, My appointments, detail.

Nothing here reaches Stripe: POSTs are tested only on paths that stop before the payment
provider (the lead's payment tests drive the checkout redirect with a Stripe stand-in).
"""

import datetime as dt
import re
from urllib.parse import parse_qs

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from appointments.models import Appointment, AppointmentStatus
from appointments.services import appointment_transition
from hospital.models import Doctor, Slot
from payments.models import Refund, RefundReason, RefundStatus
from payments.services import appointment_book, payment_status_refresh
from tests.factories import TEST_PASSWORD, DoctorFactory, PatientFactory, SlotFactory, StaffFactory, UserFactory
from tests.html_checks import assert_labels_name_fields

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, tzinfo=UTC)  # a Monday; 07:00 BST in London
PAY_MINUTES = settings.CHECKOUT_SESSION_MINUTES


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def london_doctor(first: str = "Amara", last: str = "Okafor", **kwargs) -> Doctor:
    kwargs.setdefault("timezone", "Europe/London")
    return DoctorFactory(user=UserFactory(first_name=first, last_name=last, role="doctor"), **kwargs)


def slot_at(doctor: Doctor, starts_at: dt.datetime) -> Slot:
    return SlotFactory(doctor=doctor, starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30))


def hours_from_now(doctor: Doctor, hours: float) -> Slot:
    return slot_at(doctor, NOW + dt.timedelta(hours=hours))


def hold(patient, slot: Slot, *, reason: str = "", now: dt.datetime | None = None) -> Appointment:
    return appointment_book(patient=patient, slot_id=slot.pk, reason=reason, site_url="http://testserver", now=now)


def mark_paid(appointment: Appointment, *, at: dt.datetime | None = None) -> Appointment:
    """Test data for a paid visit: the money facts Stripe would report, then the confirmation."""
    at = at or NOW
    payment = appointment.payment
    payment.captured_amount = payment.amount
    payment.payment_intent_id = f"pi_test_{appointment.pk}"
    payment.paid_at = at
    payment_status_refresh(payment)
    appointment_transition(
        appointment=appointment, to=AppointmentStatus.CONFIRMED, message="Payment received; confirmed.", now=at
    )
    return appointment


def past_visit(patient, doctor: Doctor, *, days_ago: int) -> Appointment:
    """A paid appointment whose time has passed (booked and paid before it started)."""
    slot = slot_at(doctor, NOW - dt.timedelta(days=days_ago))
    booked_at = slot.starts_at - dt.timedelta(days=2)
    return mark_paid(hold(patient, slot, now=booked_at), at=booked_at)


def visit_at(patient, name: str, *, starts_in_minutes: int, then: tuple[str, ...] = ()) -> Appointment:
    """A visit of Dr <name> that was booked and paid two days before its start, then moved
    through the statuses in `then`."""
    slot = slot_at(london_doctor(*name.split()), NOW + dt.timedelta(minutes=starts_in_minutes))
    booked_at = slot.starts_at - dt.timedelta(days=2)
    appointment = mark_paid(hold(patient, slot, now=booked_at), at=booked_at)
    for status in then:
        appointment_transition(appointment=appointment, to=status, message=status)
    return appointment


def book_url(slot: Slot) -> str:
    return reverse("appointments:book", args=[slot.pk])


def detail_url(appointment: Appointment) -> str:
    return reverse("appointments:detail", args=[appointment.pk])


def page_doctor_names(response) -> list[str]:
    """The doctors named on the list's cards, in the order shown."""
    return re.findall(r'<h2><a href="[^"]+">([^<]+)</a></h2>', response.text)


# --- Confirm page ------------------------------------------------------------------------------


class TestConfirmPage:
    def test_shows_doctor_local_time_with_zone_price_and_the_form(self, patient_client):
        doctor = london_doctor(fee_amount=9000, fee_currency="gbp")
        slot = slot_at(doctor, dt.datetime(2026, 6, 1, 9, tzinfo=UTC))  # 10:00 BST

        response = patient_client.get(book_url(slot))

        assert response.status_code == 200
        text = response.text
        assert "Dr Amara Okafor" in text
        assert doctor.specialty.name in text
        assert "Monday 1 June 2026" in text
        assert "10:00–10:30" in text
        assert "BST" in text and "Europe/London" in text
        assert "30 minutes" in text
        assert "£90.00" in text
        assert f"held for you for {settings.CHECKOUT_SESSION_MINUTES} minutes while you pay" in text
        assert 'name="reason"' in text
        assert "Continue to payment" in text
        assert reverse("hospital:doctor_detail", args=[doctor.pk]) in text
        assert "Choose another time" in text

    def test_a_held_slot_says_it_is_no_longer_available_instead_of_the_form(self, patient_client):
        slot = hours_from_now(london_doctor(), 5)
        hold(PatientFactory(), slot)

        response = patient_client.get(book_url(slot))

        assert response.status_code == 200
        assert "This time is no longer available" in response.text
        assert 'name="reason"' not in response.text
        assert reverse("hospital:doctor_detail", args=[slot.doctor_id]) in response.text

    def test_a_past_slot_is_no_longer_available(self, patient_client):
        slot = hours_from_now(london_doctor(), -2)
        assert "This time is no longer available" in patient_client.get(book_url(slot)).text

    def test_the_patients_own_hold_offers_to_resume_it(self, patient_client, patient):
        slot = hours_from_now(london_doctor(), 5)
        appointment = hold(patient, slot)

        response = patient_client.get(book_url(slot))

        assert "You are already holding this time" in response.text
        assert detail_url(appointment) in response.text

    def test_query_count_does_not_grow_with_the_doctors_slots_or_bookings(self, patient_client, patient):
        doctor = london_doctor()
        slot = hours_from_now(doctor, 5)

        def queries_with(count: int) -> int:
            for hours in range(Slot.objects.filter(doctor=doctor).count(), count + 1):
                hold(PatientFactory(), hours_from_now(doctor, 6 + hours))
            with CaptureQueriesContext(connection) as queries:
                response = patient_client.get(book_url(slot))
            assert response.status_code == 200 and "Continue to payment" in response.text
            return len(queries)

        # session, user, the slot with its doctor and the patient's zone, is it free, the policy in force
        assert queries_with(3) == queries_with(30) == 5

    def test_unknown_slot_or_unlisted_doctor_is_404(self, patient_client):
        hidden = hours_from_now(london_doctor(is_active=False), 5)
        assert patient_client.get(reverse("appointments:book", args=[999_999])).status_code == 404
        assert patient_client.get(book_url(hidden)).status_code == 404


class TestWhoMayBook:
    def test_visitor_is_sent_to_log_in_and_comes_back_to_the_same_slot(self, client, patient):
        slot = hours_from_now(london_doctor(), 5)
        url = book_url(slot)
        login = reverse("accounts:login")

        for response in (client.get(url), client.post(url, {"reason": "x"})):
            assert response.status_code == 302
            assert response.url.startswith(login)
            assert f"next={url}" in response.url.replace("%2F", "/")
        assert not Appointment.objects.exists()

        login_page = client.get(client.get(url).url)
        assert f'name="next" value="{url}"' in login_page.text
        logged_in = client.post(login, {"username": patient.email, "password": TEST_PASSWORD, "next": url})

        assert logged_in.status_code == 302
        assert logged_in.url == url
        page = client.get(logged_in.url)
        assert page.status_code == 200
        assert "Continue to payment" in page.text

    @pytest.mark.parametrize("role", ["doctor", "staff"])
    def test_doctors_and_staff_cannot_book(self, client, role):
        slot = hours_from_now(london_doctor(), 5)
        client.force_login(slot.doctor.user if role == "doctor" else StaffFactory())

        assert client.get(book_url(slot)).status_code == 403
        assert client.post(book_url(slot), {"reason": ""}).status_code == 403
        assert not Appointment.objects.exists()


class TestBookingRefusals:
    def test_a_slot_taken_meanwhile_is_409_with_the_message_and_creates_nothing(self, patient_client):
        slot = hours_from_now(london_doctor(), 5)
        hold(PatientFactory(), slot)

        response = patient_client.post(book_url(slot), {"reason": "Headache"})

        assert response.status_code == 409
        assert "someone has just booked this time" in response.text
        assert "This time is no longer available" in response.text
        assert Appointment.objects.count() == 1

    def test_a_blocked_slot_is_refused_with_a_message(self, patient_client):
        slot = SlotFactory(doctor=london_doctor(), is_blocked=True)

        response = patient_client.post(book_url(slot), {"reason": ""})

        assert response.status_code == 409
        assert "This time slot is not available for booking" in response.text
        assert not Appointment.objects.exists()

    def test_a_past_slot_is_refused_with_a_message(self, patient_client):
        slot = hours_from_now(london_doctor(), -1)

        response = patient_client.post(book_url(slot), {"reason": ""})

        assert response.status_code == 409
        assert "This time has already passed" in response.text
        assert not Appointment.objects.exists()

    def test_the_fourth_unpaid_hold_is_refused(self, patient_client, patient):
        doctor = london_doctor()
        limit = settings.MAX_UNPAID_HOLDS
        for hour in range(2, limit + 2):  # online booking closes an hour before the start
            hold(patient, hours_from_now(doctor, hour))
        one_more = hours_from_now(doctor, limit + 2)

        response = patient_client.post(book_url(one_more), {"reason": ""})

        assert response.status_code == 409
        assert f"You already have {limit} bookings waiting for payment" in response.text
        assert Appointment.objects.filter(patient=patient).count() == limit
        assert not Appointment.objects.filter(slot=one_more).exists()

    def test_booking_a_slot_you_already_hold_goes_to_that_booking(self, patient_client, patient):
        slot = hours_from_now(london_doctor(), 5)
        appointment = hold(patient, slot)

        response = patient_client.post(book_url(slot), {"reason": ""}, follow=True)

        assert response.redirect_chain == [(detail_url(appointment), 302)]
        assert "You are already holding this slot" in response.text
        assert Appointment.objects.count() == 1

    def test_a_too_long_reason_is_a_form_error(self, patient_client):
        slot = hours_from_now(london_doctor(), 5)

        response = patient_client.post(book_url(slot), {"reason": "x" * 1001})

        assert response.status_code == 200
        assert "Ensure this value has at most 1000 characters" in response.text
        assert not Appointment.objects.exists()


# --- My appointments ---------------------------------------------------------------------------


class TestMyAppointments:
    url = reverse("appointments:list")

    def test_upcoming_and_past_are_separate_tabs(self, patient_client, patient):
        upcoming = hold(patient, hours_from_now(london_doctor("Up", "Coming"), 5))
        past_visit(patient, london_doctor("Long", "Ago"), days_ago=3)
        hold(PatientFactory(), hours_from_now(london_doctor("Someone", "Else"), 6))

        response = patient_client.get(self.url)
        past = patient_client.get(self.url, {"when": "past"})

        assert page_doctor_names(response) == ["Dr Up Coming"]
        assert page_doctor_names(past) == ["Dr Long Ago"]
        assert detail_url(upcoming) in response.text
        assert 'aria-current="page">Upcoming' in response.text
        assert 'aria-current="page">Past' in past.text

    def test_cards_show_local_time_with_zone_and_the_hold(self, patient_client, patient):
        hold(patient, slot_at(london_doctor(), dt.datetime(2026, 6, 2, 13, tzinfo=UTC)))

        text = patient_client.get(self.url).text

        assert "Tuesday 2 June 2026, 14:00" in text
        assert "BST · Europe/London" in text
        assert "Awaiting payment" in text
        # The Checkout session's expiry: the hold's grace after it is never promised.
        pay_by = (NOW + dt.timedelta(minutes=PAY_MINUTES)).astimezone(Doctor(timezone="Europe/London").zone)
        assert f'held until <time datetime="{pay_by.isoformat()}">{pay_by:%H:%M} BST</time>' in text

    def test_a_lapsed_hold_shows_as_lapsed(self, patient_client, patient):
        appointment = hold(patient, hours_from_now(london_doctor(), 5))

        with time_machine.travel(appointment.hold_expires_at + dt.timedelta(minutes=1), tick=False):
            text = patient_client.get(self.url, {"when": "past"}).text

        assert 'badge-grey">Hold lapsed</span>' in text
        assert 'badge-amber">Awaiting payment</span>' not in text

    def test_filter_by_status(self, patient_client, patient):
        doctor = london_doctor("Paid", "Doctor")
        mark_paid(hold(patient, hours_from_now(doctor, 5)))
        hold(patient, hours_from_now(london_doctor("Held", "Doctor"), 6))

        response = patient_client.get(self.url, {"status": AppointmentStatus.CONFIRMED})

        assert page_doctor_names(response) == ["Dr Paid Doctor"]
        assert "Confirmed" in response.text

    def test_filter_by_payment(self, patient_client, patient):
        mark_paid(hold(patient, hours_from_now(london_doctor("Paid", "Doctor"), 5)))
        hold(patient, hours_from_now(london_doctor("Held", "Doctor"), 6))

        paid = patient_client.get(self.url, {"payment": "paid"})
        unpaid = patient_client.get(self.url, {"payment": "unpaid"})

        assert page_doctor_names(paid) == ["Dr Paid Doctor"]
        assert page_doctor_names(unpaid) == ["Dr Held Doctor"]

    def test_sort_orders(self, patient_client, patient):
        later = mark_paid(hold(patient, hours_from_now(london_doctor("Later", "Visit"), 30)))
        with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
            mark_paid(hold(patient, hours_from_now(london_doctor("Sooner", "Visit"), 3)))
        past_visit(patient, london_doctor("Long", "Ago"), days_ago=10)
        past_visit(patient, london_doctor("Recent", "Past"), days_ago=1)
        assert later.created_at < Appointment.objects.get(doctor__user__first_name="Sooner").created_at

        def names(**params):
            return page_doctor_names(patient_client.get(self.url, params))

        assert names() == ["Dr Sooner Visit", "Dr Later Visit"]
        assert names(sort="latest") == ["Dr Later Visit", "Dr Sooner Visit"]
        assert names(sort="booked") == ["Dr Sooner Visit", "Dr Later Visit"]
        assert names(when="past") == ["Dr Recent Past", "Dr Long Ago"]
        assert names(when="past", sort="soonest") == ["Dr Long Ago", "Dr Recent Past"]

    def test_the_sort_menu_shows_the_order_in_use(self, patient_client, patient):
        past_visit(patient, london_doctor(), days_ago=1)
        text = patient_client.get(self.url, {"when": "past"}).text
        assert '<option value="latest" selected>Latest first</option>' in text

    def test_tabs_and_pagination_keep_the_filters(self, patient_client, patient):
        doctor = london_doctor()
        for hour in range(2, 14):  # online booking closes an hour before the start
            mark_paid(hold(patient, hours_from_now(doctor, hour)))

        first = patient_client.get(self.url, {"status": "confirmed", "payment": "paid"})
        next_link = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
        second = patient_client.get(self.url + next_link)

        assert len(first.context["page"]) == 10
        assert "status=confirmed" in next_link and "payment=paid" in next_link and "page=2" in next_link
        assert len(second.context["page"]) == 2
        assert "Page 2 of 2" in second.text
        assert "?when=past&amp;status=confirmed&amp;payment=paid" in first.text

    def test_a_page_past_the_end_shows_the_last_and_a_bad_number_the_first(self, patient_client, patient):
        doctor = london_doctor()
        for hour in range(2, 14):
            mark_paid(hold(patient, hours_from_now(doctor, hour)))

        past_the_end = patient_client.get(self.url, {"page": "7"}).text
        not_a_number = patient_client.get(self.url, {"page": "two"}).text

        assert "Page 2 of 2" in past_the_end and past_the_end.count('class="appointment-card"') == 2
        assert "12 upcoming appointments" in past_the_end
        assert "Page 1 of 2" in not_a_number and not_a_number.count('class="appointment-card"') == 10

    def test_empty_state_offers_to_find_a_doctor(self, patient_client):
        response = patient_client.get(self.url)

        assert "You have no upcoming appointments" in response.text
        assert f'href="{reverse("hospital:doctor_list")}">Find a doctor</a>' in response.text

    def test_no_match_for_the_filters_says_so(self, patient_client, patient):
        hold(patient, hours_from_now(london_doctor(), 5))
        response = patient_client.get(self.url, {"status": "completed"})
        assert "No appointments match these filters" in response.text

    def test_each_visit_sits_in_the_tab_the_patient_expects(self, patient_client, patient):
        S = AppointmentStatus
        hold(patient, hours_from_now(london_doctor("Live", "Hold"), 5))
        lapsed = hold(patient, hours_from_now(london_doctor("Lapsed", "Hold"), 5), now=NOW - dt.timedelta(hours=2))
        assert lapsed.status == S.PENDING_PAYMENT and lapsed.hold_expires_at < NOW
        expired = hold(patient, hours_from_now(london_doctor("Expired", "Hold"), 5), now=NOW - dt.timedelta(hours=2))
        appointment_transition(appointment=expired, to=S.EXPIRED, message="lapsed")
        canceled = hold(patient, hours_from_now(london_doctor("Canceled", "Hold"), 6))
        appointment_transition(appointment=canceled, to=S.CANCELED, message="canceled")
        visit_at(patient, "Confirmed Later", starts_in_minutes=90)
        visit_at(patient, "Started Now", starts_in_minutes=-10)  # a 30-minute slot, under way
        visit_at(patient, "Confirmed Ended", starts_in_minutes=-45)
        visit_at(patient, "Running Over", starts_in_minutes=-45, then=(S.IN_PROGRESS,))
        visit_at(patient, "Done Early", starts_in_minutes=-20, then=(S.IN_PROGRESS, S.COMPLETED))
        visit_at(patient, "No Show", starts_in_minutes=-20, then=(S.NO_SHOW,))
        visit_at(patient, "Canceled Later", starts_in_minutes=120, then=(S.CANCELED,))

        upcoming = patient_client.get(self.url)
        past = patient_client.get(self.url, {"when": "past"})

        assert sorted(page_doctor_names(upcoming)) == [
            "Dr Confirmed Later",
            "Dr Live Hold",
            "Dr Running Over",
            "Dr Started Now",
        ]
        assert sorted(page_doctor_names(past)) == [
            "Dr Canceled Hold",
            "Dr Canceled Later",
            "Dr Confirmed Ended",
            "Dr Done Early",
            "Dr Expired Hold",
            "Dr Lapsed Hold",
            "Dr No Show",
        ]
        assert "4 upcoming appointments" in upcoming.text
        assert "7 past appointments" in past.text

    def test_a_visit_moves_to_past_when_its_slot_ends_not_when_it_starts(self, patient_client, patient):
        visit_at(patient, "Amara Okafor", starts_in_minutes=60)

        for minutes, tab in ((59, "upcoming"), (61, "upcoming"), (89, "upcoming"), (90, "past")):
            with time_machine.travel(NOW + dt.timedelta(minutes=minutes), tick=False):
                names = {
                    when: page_doctor_names(patient_client.get(self.url, {"when": when}))
                    for when in ("upcoming", "past")
                }
            assert names[tab] == ["Dr Amara Okafor"], minutes
            assert names["past" if tab == "upcoming" else "upcoming"] == [], minutes

    def test_an_unknown_filter_value_drops_only_that_filter(self, patient_client, patient):
        past_visit(patient, london_doctor("Long", "Ago"), days_ago=3)

        response = patient_client.get(self.url, {"when": "past", "status": "nonsense", "page": "x"})

        assert response.status_code == 200
        assert page_doctor_names(response) == ["Dr Long Ago"]
        assert "Select a valid choice" not in response.text
        assert "nonsense" not in response.text

    @pytest.mark.parametrize(
        "junk", ["nonsense", "", " ", "0", "-1", "999999", "1e3", "null", "<b>x</b>", "\x00", "ä" * 300]
    )
    @pytest.mark.parametrize("param", ["when", "status", "payment", "sort", "page"])
    def test_junk_in_any_parameter_is_ignored_quietly_and_keeps_the_rest(self, patient_client, patient, param, junk):
        doctor = london_doctor("Paid", "Doctor")
        for hour in range(2, 14):  # online booking closes an hour before the start
            mark_paid(hold(patient, hours_from_now(doctor, hour)))
        hold(patient, hours_from_now(london_doctor("Held", "Doctor"), 20))
        params = {"when": "upcoming", "status": "confirmed", "payment": "paid", "sort": "latest", "page": "1"}

        response = patient_client.get(self.url, params | {param: junk})

        assert response.status_code == 200
        text = response.text
        assert "Select a valid choice" not in text and "errorlist" not in text and "field-errors" not in text
        assert_labels_name_fields(text)
        names = page_doctor_names(response)
        if param in ("status", "payment"):
            assert response.context["page"].paginator.count == 12  # the other filter still holds
        else:
            assert set(names) == {"Dr Paid Doctor"}
        if param != "page":
            assert response.context["page"].number == 1
        # every filter that was valid is still chosen on the page and kept by the tabs and pages
        for name, value in params.items():
            if name not in (param, "page", "when"):
                assert f'<option value="{value}" selected>' in text, name
        for href in re.findall(r'href="\?([^"]*)"', text):  # the tabs, "Clear" and the pages
            kept = parse_qs(href.replace("&amp;", "&"))
            assert kept.get(param, [params[param]]) in ([params[param]], ["upcoming"], ["past"], ["2"]), href

    def test_a_patients_payment_filter_offers_only_what_a_patient_understands(self, patient_client):
        form = patient_client.get(self.url).context["form"]
        assert [label for _, label in form.fields["payment"].choices] == [
            "Any payment",
            "Unpaid",
            "Paid",
            "Partially refunded",
            "Refunded",
        ]
        text = patient_client.get(self.url).text
        assert "Disputed" not in text and "Dispute lost" not in text

    def test_a_disputed_payment_reads_paid_and_a_lost_dispute_refunded(self, patient_client, patient):
        disputed = mark_paid(hold(patient, hours_from_now(london_doctor("Under", "Dispute"), 5)))
        lost = mark_paid(hold(patient, hours_from_now(london_doctor("Dispute", "Lost"), 6)))
        for appointment, status in ((disputed, "open"), (lost, "lost")):
            payment = appointment.payment
            payment.dispute_status = status
            payment.save(update_fields=["dispute_status"])
            payment_status_refresh(payment)
        assert {disputed.payment.status, lost.payment.status} == {"disputed", "dispute_lost"}

        text = patient_client.get(self.url).text
        assert "Disputed" not in text and "Dispute lost" not in text
        assert page_doctor_names(patient_client.get(self.url, {"payment": "paid"})) == ["Dr Under Dispute"]
        assert page_doctor_names(patient_client.get(self.url, {"payment": "refunded"})) == ["Dr Dispute Lost"]
        assert page_doctor_names(patient_client.get(self.url, {"payment": "disputed"})) == [
            "Dr Under Dispute",
            "Dr Dispute Lost",
        ]  # an old link to a staff-only value drops that filter
        detail = patient_client.get(detail_url(disputed)).text
        assert "Disputed" not in detail and "<dt>Dispute</dt>" not in detail
        assert "<dt>Payment</dt><dd>Paid</dd>" in detail
        assert '<span class="visually-hidden">Payment: </span>Paid</span>' in detail
        lost_detail = patient_client.get(detail_url(lost)).text
        assert "Dispute lost" not in lost_detail
        assert '<span class="visually-hidden">Payment: </span>Refunded</span>' in lost_detail

    def test_staff_still_see_the_dispute(self, staff_client, patient):
        appointment = mark_paid(hold(patient, hours_from_now(london_doctor(), 5)))
        appointment.payment.dispute_status = "open"
        appointment.payment.save(update_fields=["dispute_status"])
        payment_status_refresh(appointment.payment)

        text = staff_client.get(detail_url(appointment)).text
        assert '<span class="visually-hidden">Payment: </span>Disputed</span>' in text
        assert "<dt>Payment</dt><dd>Disputed</dd>" in text
        assert "<dt>Dispute</dt><dd>Open</dd>" in text

    @pytest.mark.parametrize("role", ["doctor", "staff"])
    def test_only_patients_have_the_page(self, client, role):
        client.force_login(DoctorFactory().user if role == "doctor" else StaffFactory())
        assert client.get(self.url).status_code == 403

    def test_visitor_is_sent_to_log_in(self, client):
        response = client.get(self.url)
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))

    def test_query_count_does_not_grow_with_the_number_of_appointments(self, patient_client, patient):
        def queries_with(count: int) -> int:
            for _ in range(count - Appointment.objects.count()):
                mark_paid(hold(patient, SlotFactory(doctor=DoctorFactory())))
            with CaptureQueriesContext(connection) as queries:
                response = patient_client.get(self.url)
            assert response.status_code == 200
            return len(queries)

        # session, user, the page's rows with their doctor, slot, payment, the total and the patient's zone
        assert queries_with(3) == queries_with(30) == 3


# --- Detail ------------------------------------------------------------------------------------


class TestDetail:
    def test_a_live_hold_shows_its_panel_with_pay_and_cancel(self, patient_client, patient):
        doctor = london_doctor(fee_amount=9000, fee_currency="gbp")
        appointment = hold(patient, slot_at(doctor, dt.datetime(2026, 6, 2, 13, tzinfo=UTC)), reason="Chest pain")

        text = patient_client.get(detail_url(appointment)).text

        assert "Dr Amara Okafor" in text
        assert "Tuesday 2 June 2026, 14:00–14:30 BST" in text
        assert "Europe/London" in text
        assert f"#{appointment.pk}" in text
        assert "Chest pain" in text
        assert "£90.00" in text
        assert "Awaiting payment — held until" in text
        assert f"({PAY_MINUTES}\xa0minutes left)" in text  # timeuntil keeps number and unit together
        assert f'action="{reverse("appointments:pay", args=[appointment.pk])}"' in text
        assert "Pay now" in text
        assert f'action="{reverse("appointments:cancel_hold", args=[appointment.pk])}"' in text
        assert "Cancel booking" in text

    def test_the_timeline_lists_each_change_in_the_doctors_zone(self, patient_client, patient):
        appointment = hold(patient, hours_from_now(london_doctor(), 30))
        with time_machine.travel(NOW + dt.timedelta(minutes=12), tick=False):
            mark_paid(appointment, at=NOW + dt.timedelta(minutes=12))

        text = patient_client.get(detail_url(appointment)).text

        timeline = text[text.index("Timeline") :]
        assert "1 Jun 2026, 07:00 BST" in timeline
        assert "Booked; the slot is held while you pay." in timeline
        assert "1 Jun 2026, 07:12 BST" in timeline
        assert "Payment received; confirmed." in timeline
        assert timeline.index("Booked;") < timeline.index("Payment received")
        assert "Awaiting payment — held until" not in text
        assert "You're booked" in text

    def test_a_failed_attempt_shows_its_reason_and_offers_to_resume(self, patient_client, patient):
        appointment = hold(patient, hours_from_now(london_doctor(), 5))
        appointment.payment.last_failure_reason = "Your card was declined."
        appointment.payment.save()

        text = patient_client.get(detail_url(appointment)).text

        assert "Last payment attempt failed: Your card was declined." in text
        assert "Resume payment" in text

    def test_a_lapsed_hold_says_so_and_offers_to_book_again(self, patient_client, patient):
        appointment = hold(patient, hours_from_now(london_doctor(), 5))

        with time_machine.travel(appointment.hold_expires_at + dt.timedelta(seconds=1), tick=False):
            text = patient_client.get(detail_url(appointment)).text

        assert "The hold on this time lapsed" in text
        assert book_url(appointment.slot) in text
        assert reverse("appointments:pay", args=[appointment.pk]) not in text

    def test_paid_amount_and_refunds_are_shown(self, patient_client, patient):
        appointment = mark_paid(hold(patient, hours_from_now(london_doctor(fee_amount=5000, fee_currency="usd"), 5)))
        payment = appointment.payment
        Refund.objects.create(
            payment=payment,
            payment_intent_id=payment.payment_intent_id,
            amount=2000,
            currency="usd",
            reason=RefundReason.STRIPE,
            status=RefundStatus.SUCCEEDED,
        )
        payment_status_refresh(payment)

        text = patient_client.get(detail_url(appointment)).text

        assert "Partially refunded" in text
        assert "$50.00" in text
        assert "$20.00" in text and "Succeeded" in text

    def test_staff_see_the_page_without_the_patients_buttons(self, staff_client, patient):
        appointment = hold(patient, hours_from_now(london_doctor(), 5))

        response = staff_client.get(detail_url(appointment))

        assert response.status_code == 200
        assert "Awaiting payment — held until" in response.text
        assert escape(patient.get_full_name()) in response.text
        assert reverse("appointments:pay", args=[appointment.pk]) not in response.text
        assert reverse("appointments:cancel_hold", args=[appointment.pk]) not in response.text

    def test_the_doctor_reads_their_own_version_without_the_patients_buttons(self, client, patient):
        appointment = hold(patient, hours_from_now(london_doctor(), 5))
        client.force_login(appointment.doctor.user)
        response = client.get(detail_url(appointment))
        assert response.status_code == 200
        assert "Earlier visits with you" in response.text
        assert reverse("appointments:pay", args=[appointment.pk]) not in response.text
        client.force_login(london_doctor("Other", "Doctor").user)
        assert client.get(detail_url(appointment)).status_code == 404


class TestSomeoneElsesAppointment:
    @pytest.mark.parametrize(
        ("name", "method"), [("detail", "get"), ("pay", "post"), ("cancel_hold", "post"), ("paid", "get")]
    )
    def test_is_not_found(self, patient_client, name, method):
        appointment = hold(PatientFactory(), hours_from_now(london_doctor(), 5))

        response = getattr(patient_client, method)(reverse(f"appointments:{name}", args=[appointment.pk]))

        assert response.status_code == 404
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.PENDING_PAYMENT


class TestHoldActionsThatStopBeforeStripe:
    def test_cancel_a_hold_not_yet_sent_to_stripe_releases_the_slot(self, patient_client, patient, client):
        appointment = hold(patient, hours_from_now(london_doctor(), 5))

        response = patient_client.post(reverse("appointments:cancel_hold", args=[appointment.pk]), follow=True)

        assert response.redirect_chain == [(detail_url(appointment), 302)]
        assert "Your booking was canceled" in response.text
        assert "This booking was canceled" in response.text
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELED

    def test_cancel_on_a_confirmed_booking_is_refused_with_a_message(self, patient_client, patient):
        appointment = mark_paid(hold(patient, hours_from_now(london_doctor(), 5)))

        response = patient_client.post(reverse("appointments:cancel_hold", args=[appointment.pk]), follow=True)

        assert "there is no hold to cancel" in response.text
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CONFIRMED

    def test_pay_after_the_hold_lapsed_explains_and_stays(self, patient_client, patient):
        appointment = hold(patient, hours_from_now(london_doctor(), 5))

        with time_machine.travel(appointment.hold_expires_at + dt.timedelta(minutes=1), tick=False):
            response = patient_client.post(reverse("appointments:pay", args=[appointment.pk]), follow=True)

        assert response.redirect_chain == [(detail_url(appointment), 302)]
        assert "The hold on this slot has lapsed" in response.text

    def test_pay_is_post_only(self, patient_client, patient):
        appointment = hold(patient, hours_from_now(london_doctor(), 5))
        assert patient_client.get(reverse("appointments:pay", args=[appointment.pk])).status_code == 405


# --- Doctor page and navigation ----------------------------------------------------------------


class TestDoctorPageLinksToBooking:
    def test_each_free_slot_links_to_its_booking_page(self, client):
        doctor = london_doctor()
        first = slot_at(doctor, dt.datetime(2026, 6, 1, 8, 30, tzinfo=UTC))
        second = slot_at(doctor, dt.datetime(2026, 6, 1, 9, tzinfo=UTC))

        text = client.get(reverse("hospital:doctor_detail", args=[doctor.pk])).text

        assert f'href="{book_url(first)}" aria-label="Book 09:30 BST, Monday 1 June"' in text
        assert f'href="{book_url(second)}" aria-label="Book 10:00 BST, Monday 1 June"' in text

    def test_a_held_slot_disappears_and_comes_back_when_the_hold_lapses(self, client):
        doctor = london_doctor()
        slot = hours_from_now(doctor, 5)
        other = hours_from_now(doctor, 6)
        url = reverse("hospital:doctor_detail", args=[doctor.pk])
        appointment = hold(PatientFactory(), slot)

        text = client.get(url).text
        assert book_url(slot) not in text
        assert book_url(other) in text

        with time_machine.travel(appointment.hold_expires_at - dt.timedelta(seconds=1), tick=False):
            assert book_url(slot) not in client.get(url).text
        with time_machine.travel(appointment.hold_expires_at + dt.timedelta(seconds=1), tick=False):
            assert book_url(slot) in client.get(url).text

    def test_staff_see_the_times_without_booking_links(self, staff_client):
        slot = hours_from_now(london_doctor(), 5)
        text = staff_client.get(reverse("hospital:doctor_detail", args=[slot.doctor_id])).text
        assert book_url(slot) not in text
        assert "slot-chip" in text


class TestNavigation:
    def test_patients_get_my_appointments(self, patient_client):
        text = patient_client.get(reverse("hospital:home")).text
        assert f'href="{reverse("appointments:list")}">My appointments</a>' in text

    def test_doctors_and_visitors_do_not(self, client):
        assert "My appointments" not in client.get(reverse("hospital:home")).text
        client.force_login(DoctorFactory().user)
        assert "My appointments" not in client.get(reverse("hospital:home")).text
