"""Reads of the staff money dashboard: revenue net of refunds per month and per doctor, per
currency; appointments by status; the no-show and cancellation rates.

Everything is summed in the database (GROUP BY month, doctor, currency), so the page makes the
same few queries whatever the number of payments. Months are the hospital's
(`HOSPITAL_TIME_ZONE`): a payment at 23:30 UTC on 31 March is April's in Tokyo.

Money is counted where it moved: a capture in the month the payment was made (`paid_at`), a
refund in the month we recorded it (`created_at`; for a refund made in Stripe's Dashboard, when
Stripe told us), so a March visit refunded in May lowers May, and a month's figures never change
afterwards. Amounts in different currencies are never added together.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth

from appointments.models import Appointment, AppointmentStatus, CancelReason
from hospital import timefmt
from hospital.models import Doctor
from hospital.money import format_money
from payments.models import Payment, Refund

# A wider range makes a chart nobody can read; staff compare years by two ranges.
MAX_RANGE_MONTHS = 60


@dataclass(frozen=True)
class MoneyRow:
    """One line of a revenue table, in minor units of its one currency, with its display text
    computed once (the table, the chart and the CSV read the same row)."""

    label: str
    currency: str
    captured: int
    refunded: int
    net: int = field(init=False)
    captured_text: str = field(init=False)
    refunded_text: str = field(init=False)
    net_text: str = field(init=False)

    def __post_init__(self):
        net = self.captured - self.refunded
        for name, value in (
            ("net", net),
            ("captured_text", format_money(self.captured, self.currency)),
            ("refunded_text", format_money(self.refunded, self.currency)),
            ("net_text", signed_money(net, self.currency)),
        ):
            object.__setattr__(self, name, value)


def signed_money(amount: int, currency: str) -> str:
    """A net figure may be below zero (a month of refunds for earlier visits): "−$20.00"."""
    text = format_money(abs(amount), currency)
    return f"−{text}" if amount < 0 else text


@dataclass(frozen=True)
class Rate:
    """`numerator` out of `denominator`, shown as a percentage with one decimal."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> Decimal | None:
        if not self.denominator:
            return None
        return (Decimal(100 * self.numerator) / self.denominator).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def percent_text(self) -> str:
        percent = self.percent
        return "nothing to count" if percent is None else f"{percent} %"


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class MoneyDashboard:
    start: dt.date
    end: dt.date
    doctor_name: str  # "" for all doctors
    zone: str
    months: list[dt.date]  # the first day of each month of the range, in order
    # Per currency (by code), every month of the range, zeros included, oldest first.
    by_month: dict[str, list[MoneyRow]]
    # Per currency, each doctor with money in the range, the highest net first.
    by_doctor: dict[str, list[MoneyRow]]
    totals: list[MoneyRow]
    statuses: list[StatusCount]
    no_show_rate: Rate
    cancellation_rate: Rate


def dashboard_doctors() -> list[tuple[int, str]]:
    """Every doctor, listed or not (an unlisted doctor's past payments still count), by name."""
    rows = Doctor.objects.order_by("user__last_name", "user__first_name", "pk").values_list(
        "pk", "user__first_name", "user__last_name"
    )
    return [(pk, f"Dr {first} {last}".strip()) for pk, first, last in rows]


def default_range(*, today: dt.date) -> tuple[dt.date, dt.date]:
    """The last 12 months: from the first of the month eleven months back to today."""
    months_back = today.year * 12 + today.month - 1 - 11
    return dt.date(months_back // 12, months_back % 12 + 1, 1), today


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    first = start.year * 12 + start.month - 1
    last = end.year * 12 + end.month - 1
    return [dt.date(index // 12, index % 12 + 1, 1) for index in range(first, last + 1)]


def money_dashboard(
    *, start: dt.date, end: dt.date, doctors: list[tuple[int, str]], doctor_id: int | None = None
) -> MoneyDashboard:
    """The figures from `start` to `end` (days on the hospital's clock, both included), for one
    doctor or all; `doctors` is `dashboard_doctors()`, which names the per-doctor rows."""
    zone_name = settings.HOSPITAL_TIME_ZONE
    zone = zoneinfo.ZoneInfo(zone_name)
    since, until = timefmt.day_start(start, zone_name), timefmt.day_start(end + dt.timedelta(days=1), zone_name)
    names = dict(doctors)

    captured = Payment.objects.filter(captured_amount__gt=0, paid_at__gte=since, paid_at__lt=until)
    # Only refunds of the payment's own charge: a refund of a second payment for one booking gives
    # back money that was never counted as captured.
    refunded = Refund.objects.filter(
        status__in=Refund.MONEY_RETURNED_STATUSES,
        payment__isnull=False,
        payment_intent_id=F("payment__payment_intent_id"),
        created_at__gte=since,
        created_at__lt=until,
    )
    visits = Appointment.objects.filter(slot__starts_at__gte=since, slot__starts_at__lt=until)
    if doctor_id is not None:
        captured = captured.filter(appointment__doctor_id=doctor_id)
        refunded = refunded.filter(payment__appointment__doctor_id=doctor_id)
        visits = visits.filter(doctor_id=doctor_id)

    # (currency, month, doctor id) -> [captured, refunded]
    sums: dict[tuple[str, dt.date, int], list[int]] = defaultdict(lambda: [0, 0])
    for column, rows in (
        (0, _sums_by_month_doctor_currency(captured, "paid_at", "appointment__doctor_id", "captured_amount", zone)),
        (1, _sums_by_month_doctor_currency(refunded, "created_at", "payment__appointment__doctor_id", "amount", zone)),
    ):
        for row in rows:
            sums[(row["currency"], row["month"].date(), row["doctor"])][column] += row["total"]

    months = months_between(start, end)
    per_month: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0, 0])
    per_doctor: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for (currency, month, doctor), (money_in, money_out) in sums.items():
        for bucket in (per_month[(currency, month)], per_doctor[(currency, doctor)]):
            bucket[0] += money_in
            bucket[1] += money_out
    currencies = sorted({currency for currency, _month, _doctor in sums})

    by_month = {
        currency: [MoneyRow(f"{month:%b %Y}", currency, *per_month.get((currency, month), (0, 0))) for month in months]
        for currency in currencies
    }
    by_doctor = {
        currency: sorted(
            (
                MoneyRow(names.get(doctor, f"Doctor #{doctor}"), currency, *figures)
                for (row_currency, doctor), figures in per_doctor.items()
                if row_currency == currency
            ),
            key=lambda row: (-row.net, row.label),
        )
        for currency in currencies
    }
    totals = [
        MoneyRow("Total", currency, sum(row.captured for row in rows), sum(row.refunded for row in rows))
        for currency, rows in by_month.items()
    ]
    statuses, no_show_rate, cancellation_rate = _visit_figures(visits)
    return MoneyDashboard(
        start=start,
        end=end,
        doctor_name=names.get(doctor_id, "") if doctor_id is not None else "",
        zone=zone_name,
        months=months,
        by_month=by_month,
        by_doctor=by_doctor,
        totals=totals,
        statuses=statuses,
        no_show_rate=no_show_rate,
        cancellation_rate=cancellation_rate,
    )


def _sums_by_month_doctor_currency(queryset, moment: str, doctor: str, amount: str, zone: zoneinfo.ZoneInfo):
    return (
        queryset.annotate(month=TruncMonth(moment, tzinfo=zone), doctor=F(doctor))
        .values("month", "doctor", "currency")
        .annotate(total=Sum(amount))
        .order_by()
    )


def paid_booking_filter() -> Q:
    """A booking that was paid for and confirmed: money captured, and not money that came after
    its hold had lapsed or been given up and went back automatically (those end EXPIRED, or
    CANCELED as the hold was), which never made a booking."""
    return (
        Q(payment__captured_amount__gt=0)
        & ~Q(status__in=[AppointmentStatus.PENDING_PAYMENT, AppointmentStatus.EXPIRED])
        & ~Q(cancel_reason=CancelReason.HOLD_CANCELED)
    )


def _visit_figures(visits) -> tuple[list[StatusCount], Rate, Rate]:
    """Appointments by status (one query), and the two rates from the same counts."""
    counted = {
        row["status"]: row
        for row in visits.values("status").annotate(count=Count("pk"), paid=Count("pk", filter=paid_booking_filter()))
        .order_by()
    }  # fmt: skip

    def count(status: str, key: str = "count") -> int:
        return counted.get(status, {}).get(key, 0)

    statuses = [StatusCount(status, label, count(status)) for status, label in AppointmentStatus.choices]
    no_shows = count(AppointmentStatus.NO_SHOW)
    no_show_rate = Rate(no_shows, no_shows + count(AppointmentStatus.COMPLETED))
    paid = sum(row["paid"] for row in counted.values())
    cancellation_rate = Rate(count(AppointmentStatus.CANCELED, "paid"), paid)
    return statuses, no_show_rate, cancellation_rate
