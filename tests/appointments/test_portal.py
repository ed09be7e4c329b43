"""The doctor's portal: their day, their week and their appointment lists, on their own clock."""

import datetime as dt
import re
from html import unescape
from urllib.parse import urlencode

import pytest
import time_machine
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus
from payments.models import DisputeStatus, PaymentStatus
from tests.factories import TEST_PASSWORD, DoctorFactory, PatientFactory, StaffFactory, UserFactory, visit
from tests.html_checks import assert_labels_name_fields

pytestmark = pytest.mark.django_db

S = AppointmentStatus
UTC = dt.UTC
# 15:30 UTC on Monday 1 June 2026: 00:30 on Tuesday 2 June in Tokyo, 11:30 on Monday in New York.
NOW = dt.datetime(2026, 6, 1, 15, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def doctor_in(zone: str, first: str = "Hiroshi", last: str = "Tanaka"):
    return DoctorFactory(timezone=zone, user=UserFactory(first_name=first, last_name=last, role="doctor"))


@pytest.fixture
def tokyo():
    return doctor_in("Asia/Tokyo")


@pytest.fixture
def new_york():
    return doctor_in("America/New_York", "Sofia", "Marquez")


def patient_named(name: str):
    first, last = name.split()
    return PatientFactory(first_name=first, last_name=last)


def visit_of(doctor, at: dt.datetime, *, status=S.CONFIRMED, paid=True, patient="Pat Patel", reason="Check-up"):
    return visit(doctor=doctor, starts_at=at, status=status, paid=paid, patient=patient_named(patient), reason=reason)


def signed_in(client, doctor):
    client.force_login(doctor.user)
    return client


def rows(response) -> list[dict]:
    """The visit table's rows as a doctor reads them."""

    def text(html: str) -> str:
        return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())

    found = []
    for row in re.findall(r'<tr class="visit-row">(.*?)</tr>', response.text, re.S):
        cells = dict(re.findall(r'data-label="([^"]+)">(.*?)</t[dh]>', row, re.S))
        found.append(
            {
                "time": text(cells["Time"]),
                "patient": text(cells["Patient"]),
                "reason": text(cells["Reason"]),
                "status": text(cells["Status"]),
                "payment": text(cells["Payment"]),
                "actions": re.findall(r"<button[^>]*>([^<]+)<", cells["Action"]),
                "forms": re.findall(r'<form method="post" action="([^"]+)"', cells["Action"]),
            }
        )
    return found


def counts(response) -> list[str]:
    found = re.findall(r'<li class="status-count[^"]*">(.*?)</li>', response.text, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in found]


DAY = reverse("portal:day")


def after_the_code(next_url: str) -> str:
    return f"{reverse('accounts:two_factor')}?{urlencode({'next': next_url})}"


# --- Getting there -----------------------------------------------------------------------------


class TestHome:
    def test_a_doctor_lands_on_their_day_after_logging_in(self, client, tokyo):
        response = client.post(reverse("accounts:login"), {"username": tokyo.user.email, "password": TEST_PASSWORD})

        # By way of the second factor's code page (tests/accounts/test_two_factor.py), which sends them on.
        assert response.status_code == 302 and response.url == after_the_code(DAY)

    def test_a_next_address_still_wins_and_patients_still_go_home(self, client, tokyo):
        week = reverse("portal:week")
        response = client.post(
            f"{reverse('accounts:login')}?next={week}", {"username": tokyo.user.email, "password": TEST_PASSWORD}
        )
        assert response.url == after_the_code(week)

        patient = PatientFactory()
        client.logout()
        response = client.post(reverse("accounts:login"), {"username": patient.email, "password": TEST_PASSWORD})
        assert response.url == reverse("hospital:home")

    def test_the_header_takes_a_doctor_to_their_day_and_the_home_page_stays_public(self, client, tokyo):
        page = signed_in(client, tokyo).get(reverse("hospital:home")).text

        assert f'<a class="brand" href="{DAY}">' in page
        assert re.search(rf'<a class="[^"]*" href="{DAY}">My day</a>', page)
        client.logout()
        anonymous = client.get(reverse("hospital:home")).text
        assert '<a class="brand" href="/">' in anonymous and "My day" not in anonymous

    @pytest.mark.parametrize("url", ["portal:day", "portal:week", "portal:appointments", "portal:schedule"])
    def test_patients_and_staff_get_403_visitors_log_in(self, client, url):
        response = client.get(reverse(url))
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
        for user in (PatientFactory(), StaffFactory()):
            client.force_login(user)
            assert client.get(reverse(url)).status_code == 403

    def test_a_doctor_account_without_its_profile_yet_is_not_found(self, client):
        client.force_login(UserFactory(role="doctor"))
        assert client.get(DAY).status_code == 404


# --- The day -----------------------------------------------------------------------------------


class TestDay:
    def test_today_is_the_doctors_own_date_just_after_midnight_in_tokyo(self, client, tokyo):
        visit_of(tokyo, dt.datetime(2026, 6, 1, 14, 30, tzinfo=UTC), patient="Late Monday")  # 23:30 JST Mon
        visit_of(tokyo, dt.datetime(2026, 6, 1, 15, 0, tzinfo=UTC), patient="Just Tuesday")  # 00:00 JST Tue
        visit_of(tokyo, dt.datetime(2026, 6, 2, 14, 30, tzinfo=UTC), patient="Last Tuesday")  # 23:30 JST Tue

        response = signed_in(client, tokyo).get(DAY)

        assert "<h1>Tuesday 2 June 2026</h1>" in response.text
        assert "Times in Asia/Tokyo (JST)" in response.text
        assert [(row["time"], row["patient"]) for row in rows(response)] == [
            ("00:00–00:30 JST", "Just Tuesday"),
            ("23:30–00:00 JST", "Last Tuesday"),
        ]

    def test_the_same_moment_is_still_monday_morning_in_new_york(self, client, new_york):
        visit_of(new_york, dt.datetime(2026, 6, 1, 3, 30, tzinfo=UTC), patient="Sunday Night")  # 23:30 EDT Sun
        visit_of(new_york, dt.datetime(2026, 6, 1, 4, 0, tzinfo=UTC), patient="Monday Early")  # 00:00 EDT Mon
        visit_of(new_york, dt.datetime(2026, 6, 1, 16, 0, tzinfo=UTC), patient="Monday Noon")  # 12:00 EDT

        response = signed_in(client, new_york).get(DAY)

        assert "<h1>Monday 1 June 2026</h1>" in response.text
        assert "Times in America/New_York (EDT)" in response.text
        assert [row["time"] for row in rows(response)] == ["00:00–00:30 EDT", "12:00–12:30 EDT"]

    def test_each_row_shows_patient_reason_status_payment_and_the_action_that_fits(self, client, new_york):
        at = NOW - dt.timedelta(minutes=30)  # 11:00 EDT
        visit_of(new_york, at - dt.timedelta(hours=2), status=S.COMPLETED, patient="Ann Done", reason="Mole check")
        visit_of(new_york, at - dt.timedelta(hours=1), status=S.IN_PROGRESS, patient="Ben Inside")
        late = visit_of(new_york, at, patient="Cat Late", reason="Rash")
        visit_of(new_york, NOW + dt.timedelta(minutes=10), patient="Dan Soon", reason="")
        visit_of(new_york, NOW + dt.timedelta(hours=2), patient="Eve Later")
        visit_of(new_york, NOW + dt.timedelta(hours=3), status=S.PENDING_PAYMENT, paid=False, patient="Fay Paying")

        response = signed_in(client, new_york).get(DAY)

        shown = [
            (r["time"], r["patient"], r["reason"], r["status"], r["payment"], r["actions"]) for r in rows(response)
        ]
        assert shown == [
            ("09:00–09:30 EDT", "Ann Done", "Mole check", "Completed", "Paid", []),
            ("10:00–10:30 EDT", "Ben Inside", "Check-up", "In progress", "Paid", ["Complete visit"]),
            ("11:00–11:30 EDT", "Cat Late", "Rash", "Confirmed", "Paid", ["Start visit", "Mark as no-show"]),
            ("11:40–12:10 EDT", "Dan Soon", "None given", "Confirmed", "Paid", ["Start visit"]),
            ("13:30–14:00 EDT", "Eve Later", "Check-up", "Confirmed", "Paid", []),
            ("14:30–15:00 EDT", "Fay Paying", "Check-up", "Awaiting payment", "Not paid", []),
        ]  # fmt: skip
        assert counts(response) == ["1 Awaiting payment", "3 Confirmed", "1 In progress", "1 Completed"]
        cat = rows(response)[2]
        assert cat["forms"] == [
            reverse("appointments:visit_action", kwargs={"pk": late.pk, "action": "start"}),
            reverse("appointments:visit_action", kwargs={"pk": late.pk, "action": "no_show"}),
        ]
        # Complete and no-show come back to the day; Start opens the visit (test below).
        assert response.text.count(f'<input type="hidden" name="next" value="{DAY}">') == 2
        assert f'<a href="{reverse("appointments:detail", args=[late.pk])}">Cat Late</a>' in response.text

    def test_start_opens_the_visit_at_its_note_and_no_show_comes_back_to_the_day(self, client, new_york):
        late = visit_of(new_york, NOW - dt.timedelta(minutes=30), patient="Cat Late")
        later = visit_of(new_york, NOW - dt.timedelta(minutes=10), patient="Dan Soon")

        def press(button: str, patient: str):
            """Submit the row's form as the browser would, with the fields the page gives it."""
            page = signed_in(client, new_york).get(DAY).text
            form = re.search(
                rf'<form method="post" action="([^"]+)"[^>]*>((?:(?!</form>).)*){button}'
                rf'<span class="visually-hidden"> for {patient},',
                page,
            )
            return client.post(form[1], dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form[2])), follow=True)

        started = press("Start visit", "Cat Late")
        assert started.redirect_chain == [(reverse("appointments:detail", args=[late.pk]), 302)]
        assert "Visit started. Write your note below while the visit is in progress." in started.text
        assert 'name="text"' in started.text  # the note's field, on the page the message points to

        marked = press("Mark as no-show", "Dan Soon")
        assert marked.redirect_chain == [(DAY, 302)]
        later.refresh_from_db()
        assert later.status == S.NO_SHOW

    def test_a_visit_that_is_not_paid_cannot_be_started(self, client, new_york):
        appointment = visit_of(new_york, NOW - dt.timedelta(minutes=5), patient="Gil Refunded")
        appointment.payment.refunded_amount = appointment.payment.captured_amount
        appointment.payment.status = PaymentStatus.REFUNDED
        appointment.payment.save()
        visit_of(new_york, NOW + dt.timedelta(minutes=5), patient="Hal Disputed")
        Appointment.objects.get(patient__first_name="Hal").payment.__class__.objects.filter(
            appointment__patient__first_name="Hal"
        ).update(dispute_status=DisputeStatus.LOST)

        found = rows(signed_in(client, new_york).get(DAY))

        assert [(row["patient"], row["payment"], row["actions"]) for row in found] == [
            ("Gil Refunded", "Not paid", ["Mark as no-show"]),
            ("Hal Disputed", "Not paid", []),
        ]

    def test_canceled_expired_and_lapsed_bookings_leave_the_time_free(self, client, new_york):
        visit_of(new_york, NOW + dt.timedelta(hours=1), status=S.CANCELED, patient="Ivy Canceled")
        visit_of(new_york, NOW + dt.timedelta(hours=2), status=S.EXPIRED, paid=False, patient="Jon Expired")
        lapsed = visit_of(
            new_york, NOW + dt.timedelta(hours=3), status=S.PENDING_PAYMENT, paid=False, patient="Kim Lapsed"
        )
        Appointment.objects.filter(pk=lapsed.pk).update(hold_expires_at=NOW - dt.timedelta(minutes=1))

        response = signed_in(client, new_york).get(DAY)

        assert rows(response) == []
        assert "No visits today" in response.text

    def test_another_doctors_visits_never_appear(self, client, new_york):
        other = doctor_in("America/New_York", "Other", "Doctor")
        visit_of(other, NOW + dt.timedelta(hours=1), patient="Not Mine")
        visit_of(new_york, NOW + dt.timedelta(hours=2), patient="Is Mine")

        client = signed_in(client, new_york)
        for url in (DAY, reverse("portal:week"), reverse("portal:appointments")):
            page = client.get(url).text
            assert "Is Mine" in page and "Not Mine" not in page, url

    def test_a_day_the_clocks_go_forward_names_both_zones(self, client, new_york):
        with time_machine.travel(dt.datetime(2026, 3, 8, 17, tzinfo=UTC), tick=False):  # Sun 8 Mar, 13:00 EDT
            visit_of(new_york, dt.datetime(2026, 3, 8, 6, 30, tzinfo=UTC), patient="Before Jump")  # 01:30 EST
            visit_of(new_york, dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC), patient="After Jump")  # 03:30 EDT
            visit_of(new_york, dt.datetime(2026, 3, 9, 4, 30, tzinfo=UTC), patient="Next Day")  # 00:30 EDT Mon

            response = signed_in(client, new_york).get(DAY)

        assert "<h1>Sunday 8 March 2026</h1>" in response.text
        assert "Times in America/New_York (EST/EDT)" in response.text
        # the first ends when the clocks have jumped
        assert [row["time"] for row in rows(response)] == ["01:30 EST–03:00 EDT", "03:30–04:00 EDT"]

    def test_another_day_and_its_neighbours(self, client, tokyo):
        visit_of(tokyo, dt.datetime(2026, 6, 4, 0, tzinfo=UTC), patient="Thursday Morning")  # 09:00 JST Thu 4

        response = signed_in(client, tokyo).get(reverse("portal:day_on", kwargs={"day": dt.date(2026, 6, 4)}))

        assert "<h1>Thursday 4 June 2026</h1>" in response.text
        assert [row["patient"] for row in rows(response)] == ["Thursday Morning"]
        assert f'href="{reverse("portal:day_on", kwargs={"day": dt.date(2026, 6, 3)})}" rel="prev"' in response.text
        assert f'href="{reverse("portal:day_on", kwargs={"day": dt.date(2026, 6, 5)})}" rel="next"' in response.text
        assert f'href="{DAY}">Today</a>' in response.text
        assert client.get("/portal/day/2026-02-30/").status_code == 404
        assert client.get("/portal/day/yesterday/").status_code == 404

    @pytest.mark.parametrize("url", [DAY, reverse("portal:week")])
    def test_query_count_is_the_same_for_5_and_200_visits(self, client, django_assert_num_queries, tokyo, url):
        patient = PatientFactory()
        client = signed_in(client, tokyo)
        start = dt.datetime(2026, 6, 1, 15, 0, tzinfo=UTC)  # 00:00 JST Tuesday

        def visits_up_to(count: int):
            for index in range(Appointment.objects.count(), count):
                visit(doctor=tokyo, patient=patient, starts_at=start + dt.timedelta(minutes=5 * index))

        for count in (5, 200):
            visits_up_to(count)
            # session, user, the second factor's device, doctor profile, the visits with whether each is paid
            with django_assert_num_queries(5):
                response = client.get(url)
            assert response.text.count('class="week-visit ') + len(rows(response)) == count


# --- The week ----------------------------------------------------------------------------------


def week_days(response) -> list[tuple[str, list[str]]]:
    """Each day's heading and the visits listed under it."""
    days = []
    for day in re.findall(r'<li class="week-day[^"]*"[^>]*>(.*?)</li>\n', response.text, re.S):
        heading = " ".join(re.sub(r"<[^>]+>", " ", re.search(r"<h2.*?</h2>", day, re.S).group()).split())
        visits = [
            " ".join(unescape(re.sub(r"<[^>]+>", " ", item)).split())
            for item in re.findall(r'<li class="week-visit[^"]*">(.*?)</li>', day, re.S)
        ]
        days.append((heading, visits or ["No visits"] if "No visits" in day else visits))
    return days


class TestWeek:
    def test_seven_days_from_monday_on_the_doctors_calendar(self, client, tokyo):
        visit_of(tokyo, dt.datetime(2026, 5, 31, 15, 0, tzinfo=UTC), patient="Monday Midnight")  # 00:00 JST Mon 1
        visit_of(tokyo, dt.datetime(2026, 6, 2, 0, 0, tzinfo=UTC), status=S.IN_PROGRESS, patient="Tuesday Nine")
        visit_of(tokyo, dt.datetime(2026, 6, 7, 14, 30, tzinfo=UTC), patient="Sunday Late")  # 23:30 JST Sun 7
        visit_of(tokyo, dt.datetime(2026, 6, 7, 15, 0, tzinfo=UTC), patient="Next Week")  # 00:00 JST Mon 8
        visit_of(tokyo, dt.datetime(2026, 5, 31, 14, 30, tzinfo=UTC), patient="Last Week")  # 23:30 JST Sun 31

        response = signed_in(client, tokyo).get(reverse("portal:week"))

        assert "<h1>1 – 7 June 2026</h1>" in response.text
        assert "3 visits · times in Asia/Tokyo (JST)" in response.text
        assert week_days(response) == [
            ("Mon 1 Jun", ["00:00 Monday Midnight Confirmed"]),
            ("Tue 2 Jun Today", ["09:00 Tuesday Nine In progress"]),
            ("Wed 3 Jun", ["No visits"]),
            ("Thu 4 Jun", ["No visits"]),
            ("Fri 5 Jun", ["No visits"]),
            ("Sat 6 Jun", ["No visits"]),
            ("Sun 7 Jun", ["23:30 Sunday Late Confirmed"]),
        ]
        assert counts(response) == ["2 Confirmed", "1 In progress"]
        assert 'aria-current="date"' in response.text
        day_link = reverse("portal:day_on", kwargs={"day": dt.date(2026, 6, 3)})
        assert f'<a href="{day_link}"><span class="week-day-name">Wed</span> 3 Jun</a>' in response.text

    def test_previous_and_next_weeks(self, client, tokyo):
        client = signed_in(client, tokyo)
        response = client.get(reverse("portal:week_of", kwargs={"day": dt.date(2026, 7, 1)}))  # a Wednesday

        assert "<h1>29 June – 5 July 2026</h1>" in response.text
        assert f'href="{reverse("portal:week_of", kwargs={"day": dt.date(2026, 6, 22)})}" rel="prev"' in response.text
        assert f'href="{reverse("portal:week_of", kwargs={"day": dt.date(2026, 7, 6)})}" rel="next"' in response.text
        assert f'href="{reverse("portal:week")}">This week</a>' in response.text
        assert "0 visits" in response.text and response.text.count("No visits") == 7
        new_year = client.get(reverse("portal:week_of", kwargs={"day": dt.date(2027, 1, 1)}))
        assert "<h1>28 December 2026 – 3 January 2027</h1>" in new_year.text

    def test_the_week_the_clocks_change_in_new_york(self, client, new_york):
        visit_of(new_york, dt.datetime(2026, 3, 8, 6, 30, tzinfo=UTC), patient="Before Jump")  # Sun 01:30 EST
        visit_of(new_york, dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC), patient="After Jump")  # Sun 03:30 EDT
        visit_of(new_york, dt.datetime(2026, 3, 9, 4, 0, tzinfo=UTC), patient="Next Week")  # Mon 9 00:00 EDT

        response = signed_in(client, new_york).get(reverse("portal:week_of", kwargs={"day": dt.date(2026, 3, 4)}))

        assert "times in America/New_York (EST/EDT)" in response.text
        assert week_days(response)[-1] == ("Sun 8 Mar", ["01:30 Before Jump Confirmed", "03:30 After Jump Confirmed"])
        assert "Next Week" not in response.text


# --- The lists ---------------------------------------------------------------------------------

LIST = reverse("portal:appointments")


def listed(response) -> list[str]:
    return [row["patient"] for row in rows(response)]


@pytest.fixture
def agenda(new_york):
    """Sofia Marquez's visits around NOW (11:30 EDT on Monday 1 June)."""
    hour = dt.timedelta(hours=1)
    return {
        "done": visit_of(new_york, NOW - 50 * hour, status=S.COMPLETED, patient="Ann Adams"),
        "missed": visit_of(new_york, NOW - 26 * hour, status=S.NO_SHOW, patient="Bob Brown"),
        "canceled": visit_of(new_york, NOW - 3 * hour, status=S.CANCELED, paid=False, patient="Cal Clark"),
        "ended": visit_of(new_york, NOW - 1 * hour, patient="Dee Dunn"),  # confirmed, its slot over
        "inside": visit_of(new_york, NOW - 2 * hour, status=S.IN_PROGRESS, patient="Eli Evans"),
        "soon": visit_of(new_york, NOW + 2 * hour, patient="Fay Fox"),
        "holding": visit_of(new_york, NOW + 26 * hour, status=S.PENDING_PAYMENT, paid=False, patient="Gus Gray"),
        "later": visit_of(new_york, NOW + 74 * hour, patient="Hana Hill"),
    }


class TestLists:
    def test_upcoming_and_past_split_as_the_patient_list_does(self, client, new_york, agenda):
        client = signed_in(client, new_york)

        upcoming = client.get(LIST)
        past = client.get(LIST, {"when": "past"})

        assert listed(upcoming) == ["Eli Evans", "Fay Fox", "Gus Gray", "Hana Hill"]
        assert listed(past) == ["Dee Dunn", "Cal Clark", "Bob Brown", "Ann Adams"]  # latest first
        assert rows(past)[0]["time"] == "Mon 1 Jun 2026 10:30–11:00 EDT"
        assert rows(past)[0]["actions"] == ["Start visit", "Mark as no-show"]
        assert counts(upcoming) == ["1 Awaiting payment", "2 Confirmed", "1 In progress"]
        assert counts(past) == ["1 Confirmed", "1 Completed", "1 No-show", "1 Canceled"]
        assert "4 upcoming appointments" in upcoming.text

    def test_filters_by_status_payment_dates_and_patient(self, client, new_york, agenda):
        client = signed_in(client, new_york)

        def names(**query) -> list[str]:
            response = client.get(LIST, query)
            assert response.status_code == 200 and "form-errors" not in response.text, query
            return listed(response)

        assert names(status="confirmed") == ["Fay Fox", "Hana Hill"]
        assert names(payment="unpaid") == ["Gus Gray"]
        assert names(when="past", payment="paid") == ["Dee Dunn", "Bob Brown", "Ann Adams"]
        assert names(when="past", from_day="2026-05-30", to_day="2026-05-31") == ["Bob Brown", "Ann Adams"]
        assert names(when="past", to_day="2026-05-30") == ["Ann Adams"]  # 09:30 EDT on 30 May
        assert names(from_day="2026-06-02", to_day="2026-06-02") == ["Gus Gray"]
        assert names(patient="fox") == ["Fay Fox"]
        assert names(when="past", patient="b CLARK") == []  # every word must match
        assert names(when="past", patient="Cal CLARK") == ["Cal Clark"]

    def test_counts_ignore_the_status_filter_and_link_to_each_status(self, client, new_york, agenda):
        response = signed_in(client, new_york).get(LIST, {"status": "confirmed", "patient": "y"})

        assert listed(response) == ["Fay Fox"]
        assert counts(response) == ["1 Awaiting payment", "1 Confirmed"]  # Fay Fox and Gus Gray
        assert '<a href="?when=upcoming&amp;patient=y&amp;status=pending_payment">' in response.text

    def test_sorts(self, client, new_york, agenda):
        client = signed_in(client, new_york)

        assert listed(client.get(LIST, {"sort": "latest"})) == ["Hana Hill", "Gus Gray", "Fay Fox", "Eli Evans"]
        assert listed(client.get(LIST, {"when": "past", "sort": "patient"})) == [
            "Ann Adams", "Bob Brown", "Cal Clark", "Dee Dunn"
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("query", "error"),
        [
            ({"from_day": "not-a-date"}, "Enter a valid date."),
            ({"from_day": "2026-06-01", "to_day": "2026-05-31"}, "The last day must be on or after the first."),
            ({"status": "lost"}, "Select a valid choice."),
            ({"payment": "maybe"}, "Select a valid choice."),
            ({"sort": "random"}, "Select a valid choice."),
            ({"patient": "x" * 101}, "Ensure this value has at most 100 characters"),
        ],
    )
    def test_a_bad_filter_is_a_form_error_and_the_others_still_apply(self, client, new_york, agenda, query, error):
        response = signed_in(client, new_york).get(LIST, {"patient": "y", **query})

        assert response.status_code == 200
        assert error in unescape(response.text)
        assert 'aria-invalid="true"' in response.text
        if "patient" in query:
            assert listed(response) == ["Eli Evans", "Fay Fox", "Gus Gray", "Hana Hill"]
        else:
            assert listed(response) == ["Fay Fox", "Gus Gray"]

    def test_junk_in_when_and_page_is_quietly_ignored(self, client, new_york, agenda):
        response = signed_in(client, new_york).get(LIST, {"when": "<script>", "page": "-3"})

        assert response.status_code == 200 and "form-errors" not in response.text
        assert listed(response) == ["Eli Evans", "Fay Fox", "Gus Gray", "Hana Hill"]

    def test_pages_keep_the_filters_and_a_page_past_the_end_shows_the_last(self, client, new_york):
        patient = PatientFactory(first_name="Ola", last_name="Olsen")
        for day in range(45):
            visit(doctor=new_york, patient=patient, starts_at=NOW + dt.timedelta(days=day, hours=1))
        client = signed_in(client, new_york)

        second = client.get(LIST, {"patient": "olsen", "page": "2"})
        beyond = client.get(LIST, {"patient": "olsen", "page": "99"})

        assert "Page 2 of 3" in second.text
        assert '<a href="?when=upcoming&amp;patient=olsen&amp;page=3" rel="next">' in second.text
        assert len(rows(second)) == 20
        assert "Page 3 of 3" in beyond.text and len(rows(beyond)) == 5
        assert rows(beyond)[-1]["time"].startswith("Wed 15 Jul 2026")

    def test_no_match_says_so_and_offers_to_clear(self, client, new_york, agenda):
        response = signed_in(client, new_york).get(LIST, {"patient": "nobody"})

        assert "No appointments match these filters" in response.text
        assert '<a href="?when=upcoming">Clear the filters</a>' in response.text

    def test_every_filter_is_labelled(self, client, new_york):
        assert_labels_name_fields(signed_in(client, new_york).get(LIST, {"from_day": "bad"}).text)

    def test_query_count_is_the_same_for_5_and_200_appointments(self, client, django_assert_num_queries, new_york):
        patient = PatientFactory()
        client = signed_in(client, new_york)
        for count in (5, 200):
            for index in range(Appointment.objects.count(), count):
                visit(doctor=new_york, patient=patient, starts_at=NOW + dt.timedelta(hours=index + 1))
            # session, user, the second factor's device, doctor profile, the page's rows with the
            # total, the counts per status
            with django_assert_num_queries(6):
                response = client.get(LIST, {"payment": "paid", "sort": "patient"})
            assert f"{count} upcoming appointments" in response.text
