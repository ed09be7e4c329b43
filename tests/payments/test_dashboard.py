"""The staff money dashboard: revenue net of refunds per month and per doctor, never adding one
currency to another; appointments by status; the no-show and cancellation rates; who may open
it; its CSV files; and a number of queries that does not grow with the data."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import StaffGroup
from appointments.models import AppointmentStatus, CancelReason
from payments.models import RefundReason, RefundStatus
from tests.factories import DoctorFactory, StaffFactory, UserFactory, visit
from tests.payments.money_mix import at, paid_visit, refund

pytestmark = pytest.mark.django_db

URL = "/admin/payments/dashboard/"


def staff_in(group: StaffGroup):
    user = StaffFactory(is_superuser=False)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def billing_client(client):
    client.force_login(staff_in(StaffGroup.BILLING))
    return client


@pytest.fixture
def seeded_mix():
    """Dollars at Dr Ada Ames ($50 visits), yen at Dr Ben Boyd (¥8,000), January to February 2026."""
    ames = DoctorFactory(user=UserFactory(role="doctor", first_name="Ada", last_name="Ames"))
    boyd = DoctorFactory(
        user=UserFactory(role="doctor", first_name="Ben", last_name="Boyd"), fee_amount=8000, fee_currency="jpy"
    )
    completed = paid_visit(ames, paid_at=at(2026, 1, 10))
    # A patient's cancellation at 50 %: captured in January, half given back in February.
    half_back = paid_visit(
        ames, paid_at=at(2026, 1, 20), status=AppointmentStatus.CANCELED, cancel_reason=CancelReason.PATIENT
    )
    refund(half_back, 2500, made_at=at(2026, 2, 2), reason=RefundReason.PATIENT_CANCELED)
    # A refund of 3,000 made in Stripe's Dashboard after a no-show; one still pending at Stripe.
    no_show = paid_visit(boyd, paid_at=at(2026, 2, 5), status=AppointmentStatus.NO_SHOW)
    refund(no_show, 3000, made_at=at(2026, 2, 9), reason=RefundReason.STRIPE)
    staff_canceled = paid_visit(
        boyd, paid_at=at(2026, 2, 6), status=AppointmentStatus.CANCELED, cancel_reason=CancelReason.STAFF
    )
    refund(
        staff_canceled, 8000, made_at=at(2026, 2, 7), status=RefundStatus.PENDING, reason=RefundReason.STAFF_CANCELED
    )
    # Money that did not go back, or is not this payment's: none of it counts.
    failed = paid_visit(ames, paid_at=at(2026, 2, 7))
    refund(failed, 5000, made_at=at(2026, 2, 8), status=RefundStatus.FAILED)
    refund(completed, 1000, made_at=at(2026, 2, 8), status=RefundStatus.REQUESTED)
    refund(completed, 5000, made_at=at(2026, 2, 8), reason=RefundReason.DUPLICATE_PAYMENT, intent="pi_second_payment")
    # Paid after the hold lapsed with the slot taken: captured, given back in full, no booking.
    late = paid_visit(ames, paid_at=at(2026, 2, 10), status=AppointmentStatus.EXPIRED)
    refund(late, 5000, made_at=at(2026, 2, 10), reason=RefundReason.LATE_PAYMENT)
    # A hold given up before paying.
    visit(status=AppointmentStatus.CANCELED, paid=False, doctor=ames, starts_at=at(2026, 2, 20))
    return ames, boyd


JAN_TO_MAR = {"start": "2026-01-01", "end": "2026-03-31"}


def tables_of(response, slug: str) -> dict[str, list[list[str]]]:
    """A section's tables as shown, by caption."""
    section = next(section for section in response.context["sections"] if section.slug == slug)
    return {part.caption: part.rows for part in section.parts}


def rows_of(response, slug: str) -> list[list[str]]:
    """All rows of a section's tables."""
    return [row for rows in tables_of(response, slug).values() for row in rows]


def test_revenue_is_net_of_money_returned_per_month_doctor_and_currency(billing_client, seeded_mix):
    response = billing_client.get(URL, JAN_TO_MAR)

    assert response.status_code == 200
    assert rows_of(response, "totals") == [
        ["JPY", "¥16,000", "¥11,000", "¥5,000"],
        ["USD", "$200.00", "$75.00", "$125.00"],
    ]
    assert tables_of(response, "revenue-by-month") == {
        "Revenue per month in JPY": [
            ["Jan 2026", "¥0", "¥0", "¥0"],
            ["Feb 2026", "¥16,000", "¥11,000", "¥5,000"],
            ["Mar 2026", "¥0", "¥0", "¥0"],
        ],
        "Revenue per month in USD": [
            ["Jan 2026", "$100.00", "$0.00", "$100.00"],
            ["Feb 2026", "$100.00", "$75.00", "$25.00"],
            ["Mar 2026", "$0.00", "$0.00", "$0.00"],
        ],
    }
    assert tables_of(response, "revenue-by-doctor") == {
        "Revenue per doctor in JPY": [["Dr Ben Boyd", "¥16,000", "¥11,000", "¥5,000"]],
        "Revenue per doctor in USD": [["Dr Ada Ames", "$200.00", "$75.00", "$125.00"]],
    }
    page = response.text
    assert "Net revenue per month in USD" in page and "Net revenue per month in JPY" in page


def test_appointments_by_status_and_the_two_rates(billing_client, seeded_mix):
    response = billing_client.get(URL, JAN_TO_MAR)

    statuses = dict(rows_of(response, "appointments-by-status"))
    assert statuses == {
        "Awaiting payment": "0",
        "Confirmed": "0",
        "In progress": "0",
        "Completed": "2",
        "No-show": "1",
        "Canceled": "3",
        "Expired": "1",
    }
    # One no-show of three visits that reached their time; two of five paid bookings canceled (the
    # hold given up before paying and the late payment are no paid bookings).
    assert rows_of(response, "rates") == [
        ["No-show rate", "1", "3", "33.3 %"],
        ["Cancellation rate", "2", "5", "40.0 %"],
    ]
    page = response.text
    assert "No-shows divided by the visits that reached their time" in page
    assert "Paid bookings later canceled" in page


def test_one_doctor_and_a_range_narrow_every_figure(billing_client, seeded_mix):
    ames, _boyd = seeded_mix
    response = billing_client.get(URL, {"start": "2026-02-01", "end": "2026-02-28", "doctor": ames.pk})

    assert rows_of(response, "totals") == [["USD", "$100.00", "$75.00", "$25.00"]]
    assert rows_of(response, "revenue-by-month") == [["Feb 2026", "$100.00", "$75.00", "$25.00"]]
    assert dict(rows_of(response, "appointments-by-status"))["Completed"] == "1"
    assert "Dr Ada Ames" in response.text
    # The doctor asked for stays chosen in the filter, and only that one.
    assert f'<option value="{ames.pk}" selected>Dr Ada Ames</option>' in response.text
    assert response.text.count(" selected>") == 1


def test_a_month_of_refunds_for_earlier_visits_is_below_zero(billing_client, seeded_mix):
    response = billing_client.get(URL, {"start": "2026-02-01", "end": "2026-02-28"})
    assert ["USD", "$100.00", "$75.00", "$25.00"] in rows_of(response, "totals")

    march = DoctorFactory()
    earlier = paid_visit(march, paid_at=at(2026, 2, 25))
    refund(earlier, 5000, made_at=at(2026, 3, 2))
    response = billing_client.get(URL, {"start": "2026-03-01", "end": "2026-03-31"})
    assert rows_of(response, "totals") == [["USD", "$0.00", "$50.00", "−$50.00"]]
    assert 'class="chart-bar chart-bar-negative"' in response.text


def test_months_are_the_hospitals(billing_client, settings):
    settings.HOSPITAL_TIME_ZONE = "Asia/Tokyo"  # UTC+9, no daylight saving
    doctor = DoctorFactory()
    paid_visit(doctor, paid_at=at(2026, 2, 28, 14, 59))  # 23:59 on 28 February in Tokyo: before the range
    paid_visit(doctor, paid_at=at(2026, 2, 28, 15, 0))  # 00:00 on 1 March in Tokyo
    paid_visit(doctor, paid_at=at(2026, 3, 31, 14, 59))  # 23:59 on 31 March
    paid_visit(doctor, paid_at=at(2026, 3, 31, 15, 0))  # 00:00 on 1 April
    paid_visit(doctor, paid_at=at(2026, 4, 30, 15, 0))  # 00:00 on 1 May: after the range

    response = billing_client.get(URL, {"start": "2026-03-01", "end": "2026-04-30"})

    assert [row[:2] for row in rows_of(response, "revenue-by-month")] == [
        ["Mar 2026", "$100.00"],
        ["Apr 2026", "$50.00"],
    ]
    assert "months in Asia/Tokyo" in response.text


def test_the_default_is_the_last_twelve_months(billing_client, settings):
    settings.HOSPITAL_TIME_ZONE = "Europe/London"
    response = billing_client.get(URL)
    figures = response.context["figures"]
    today = figures.end
    assert len(figures.months) == 12
    assert figures.start == figures.months[0] and figures.start.day == 1
    assert (figures.months[-1].year, figures.months[-1].month) == (today.year, today.month)
    assert "Nothing in this range." in response.text  # no money yet; the statuses still show


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-03-01", "end": "2026-02-01"}, "“From” must be on or before “To”."),
        ({"start": "2020-01-01", "end": "2026-01-31"}, "Choose at most 60 months."),
        ({"start": "yesterday", "end": "2026-02-01"}, "Enter a valid date."),
        ({"start": "2026-01-01", "end": "2026-02-01", "doctor": "999999"}, "Select a valid choice."),
    ],
)
def test_a_bad_filter_gets_its_message_and_no_figures(billing_client, query, message):
    response = billing_client.get(URL, query)
    assert response.status_code == 200
    assert message in response.text
    assert response.context["figures"] is None
    export = billing_client.get(URL, {**query, "export": "totals"})
    assert export.status_code == 400


# -- who may open it ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "status"),
    [
        (StaffGroup.BILLING, 200),
        (StaffGroup.ADMINISTRATOR, 200),
        (StaffGroup.FRONT_DESK, 403),
        (StaffGroup.CLINICAL_RECORDS, 403),
    ],
)
def test_only_staff_who_may_view_payments_open_it_and_see_its_link(client, group, status):
    client.force_login(staff_in(group))
    assert client.get(URL).status_code == status
    assert client.get(URL, {"export": "totals"}).status_code == status
    index = client.get(reverse("admin:index")).text
    assert (URL in index) == (status == 200)


def test_a_superuser_opens_it_and_others_are_sent_to_log_in(client, staff):
    assert client.get(URL).status_code == 302
    assert "/admin/login/" in client.get(URL)["Location"]
    client.force_login(UserFactory())  # a patient
    assert client.get(URL).status_code == 302
    client.force_login(staff)
    assert client.get(URL).status_code == 200


# -- CSV ---------------------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_each_table_downloads_as_csv_in_major_units_with_the_currency_code(billing_client, seeded_mix):
    response = billing_client.get(URL, {**JAN_TO_MAR, "export": "revenue-by-month"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="money-dashboard-revenue-by-month-2026-01-01-to-2026-03-31.csv"'
    )
    rows = csv_rows(response)
    assert rows[0] == ["Month (YYYY-MM)", "Currency", "Captured", "Refunded", "Net"]
    assert ["2026-02", "JPY", "16000", "11000", "5000"] in rows
    assert ["2026-02", "USD", "100.00", "75.00", "25.00"] in rows
    assert sum(Decimal(row[4]) for row in rows[1:] if row[1] == "USD") == Decimal("125.00")

    doctors = csv_rows(billing_client.get(URL, {**JAN_TO_MAR, "export": "revenue-by-doctor"}))
    assert doctors == [
        ["Doctor", "Currency", "Captured", "Refunded", "Net"],
        ["Dr Ben Boyd", "JPY", "16000", "11000", "5000"],
        ["Dr Ada Ames", "USD", "200.00", "75.00", "125.00"],
    ]
    statuses = csv_rows(billing_client.get(URL, {**JAN_TO_MAR, "export": "appointments-by-status"}))
    assert statuses[0] == ["Status", "Appointments"] and ["no_show", "1"] in statuses
    rates = csv_rows(billing_client.get(URL, {**JAN_TO_MAR, "export": "rates"}))
    assert rates == [
        ["Measure", "Count", "Out of", "Rate (%)"],
        ["No-show rate", "1", "3", "33.3"],
        ["Cancellation rate", "2", "5", "40.0"],
    ]


def test_the_page_links_each_tables_csv_with_its_filter(billing_client, seeded_mix):
    page = billing_client.get(URL, JAN_TO_MAR).text
    for slug in ("totals", "revenue-by-month", "revenue-by-doctor", "appointments-by-status", "rates"):
        assert f"?start=2026-01-01&amp;end=2026-03-31&amp;export={slug}" in page
    assert billing_client.get(URL, {"export": "nothing-like-it"}).status_code == 404


def test_no_visit_to_count_gives_an_empty_rate_not_a_zero_one(billing_client):
    response = billing_client.get(URL, {**JAN_TO_MAR, "export": "rates"})
    assert csv_rows(response)[1:] == [["No-show rate", "0", "0", ""], ["Cancellation rate", "0", "0", ""]]


# -- the charts --------------------------------------------------------------------------------


def test_each_chart_is_an_image_with_a_title_beside_its_table(billing_client, seeded_mix):
    page = billing_client.get(URL, JAN_TO_MAR).text
    assert page.count('role="img"') == 5  # month and doctor per currency, and the statuses
    assert 'aria-labelledby="chart-month-usd-title"' in page
    assert '<title id="chart-month-usd-title">Net revenue per month in USD;' in page
    assert "<title>Feb 2026: $25.00</title>" in page
    assert "<script" not in page.split('id="content-main"')[1]


# -- the number of queries ---------------------------------------------------------------------


def seed_payments(count: int) -> None:
    doctors = [DoctorFactory(), DoctorFactory(fee_amount=8000, fee_currency="jpy"), DoctorFactory()]
    for index in range(count):
        paid_at = at(2026, 1 + index % 3, 1 + index % 28)
        payment = paid_visit(doctors[index % 3], paid_at=paid_at, starts_at=at(2026, 1, 5) + dt.timedelta(hours=index))
        if index % 4 == 0:
            refund(payment, 1000, made_at=at(2026, 3, 1))


# The session, the user, the second factor's device, their own and their groups' permissions
# (read once, then cached), the doctors, the captured sums, the refunded sums and the statuses;
# the page also reads the user's groups (the admin's sidebar asks prescriptions' admin, which
# goes by group), a CSV does not.
CSV_QUERIES = 9
PAGE_QUERIES = CSV_QUERIES + 1


@pytest.mark.parametrize("payments", [5, 200])
def test_the_page_makes_the_same_queries_at_5_and_at_200_payments(billing_client, django_assert_num_queries, payments):
    seed_payments(payments)
    with django_assert_num_queries(PAGE_QUERIES):
        response = billing_client.get(URL, JAN_TO_MAR)
    assert response.status_code == 200
    assert sum(int(count) for _status, count in rows_of(response, "appointments-by-status")) == payments
    with django_assert_num_queries(CSV_QUERIES):
        assert billing_client.get(URL, {**JAN_TO_MAR, "export": "revenue-by-doctor"}).status_code == 200
