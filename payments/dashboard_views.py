"""The staff money dashboard, an admin page (registered in payments/admin.py): figures from
payments.dashboard, drawn as SVG charts beside their tables, each table also as CSV."""

from __future__ import annotations

import csv
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from hospital.charts import BarChart, bar_chart
from hospital.money import to_major_units
from payments.dashboard import MoneyDashboard, MoneyRow, dashboard_doctors, money_dashboard
from payments.forms import DashboardFilterForm

# The chart of revenue per doctor shows the top ones; the table beside it lists all.
CHART_DOCTORS = 10
MONEY_COLUMNS = ["Captured", "Refunded", "Net"]
CSV_MONEY_COLUMNS = ["Currency", *MONEY_COLUMNS]

MONEY_TERMS = [
    ("Captured", "Money received for bookings, in the month the payment was made."),
    (
        "Refunded",
        "Money given back, in the month the refund was made: refunds pending or completed at Stripe, ours and "
        "those made in Stripe's Dashboard. Refunds not yet sent to Stripe, failed or canceled do not count; "
        "neither do disputes.",
    ),
    (
        "Net",
        "Captured minus refunded. A month can be below zero when it refunded visits paid for earlier. Each "
        "currency is counted on its own, never added to another.",
    ),
]
RATE_TERMS = [
    (
        "No-show rate",
        "No-shows divided by the visits that reached their time (completed plus no-shows), of the appointments "
        "whose time falls in the range.",
    ),
    (
        "Cancellation rate",
        "Paid bookings later canceled (by the patient, the doctor or the hospital, or refunded in full) divided "
        "by all paid bookings whose time falls in the range. A paid booking is an appointment confirmed by a "
        "payment; money that arrived after its hold had lapsed and went back automatically is no booking.",
    ),
]


@dataclass(frozen=True)
class Part:
    """One table as shown (one currency's, say), with the chart drawn from it, if any."""

    caption: str
    dom_id: str
    columns: list[str]
    rows: list[list[str]]
    chart: BarChart | None = None


@dataclass(frozen=True)
class Section:
    """A heading and its tables with their charts; exported as one CSV of every row."""

    slug: str  # the CSV's ?export= value and file name
    title: str
    parts: list[Part]
    csv_columns: list[str]
    csv_rows: list[list]  # amounts in major units, currency codes, ISO months
    terms: list[tuple[str, str]] = field(default_factory=list)  # what its figures mean, in words
    note: str = ""


def _money_cells(row: MoneyRow) -> list[str]:
    return [row.captured_text, row.refunded_text, row.net_text]


def _money_csv(row: MoneyRow) -> list:
    return [
        row.currency.upper(),
        *(to_major_units(value, row.currency) for value in (row.captured, row.refunded, row.net)),
    ]


def _per_currency(
    slug: str, what: str, first_column: str, rows_by_currency: dict[str, list[MoneyRow]], *, chart_rows: int | None
) -> list[Part]:
    parts = []
    for currency, rows in rows_by_currency.items():
        code = currency.upper()
        charted = rows[:chart_rows] if chart_rows else rows
        shortened = f", the top {len(charted)} (the table lists all)" if len(charted) < len(rows) else ""
        parts.append(
            Part(
                caption=f"{what} in {code}",
                dom_id=f"{slug}-{currency}",
                columns=[first_column, *MONEY_COLUMNS],
                rows=[[row.label, *_money_cells(row)] for row in rows],
                chart=bar_chart(
                    title=f"Net {what.lower()} in {code}{shortened}",
                    dom_id=f"chart-{slug}-{currency}",
                    bars=[(row.label, row.net, row.net_text) for row in charted],
                ),
            )
        )
    return parts


def _sections(figures: MoneyDashboard) -> list[Section]:
    month_rows = [
        (f"{month:%Y-%m}", row)
        for rows in figures.by_month.values()
        for month, row in zip(figures.months, rows, strict=True)
    ]
    doctor_rows = [row for rows in figures.by_doctor.values() for row in rows]
    rates = [
        ("No-show rate", figures.no_show_rate),
        ("Cancellation rate", figures.cancellation_rate),
    ]
    statuses = [[status.label, str(status.count)] for status in figures.statuses]
    totals = [[row.currency.upper(), *_money_cells(row)] for row in figures.totals]
    return [
        Section(
            slug="totals",
            title="Net revenue in the range",
            parts=[Part("Net revenue in the range", "totals", ["Currency", *MONEY_COLUMNS], totals)] if totals else [],
            csv_columns=CSV_MONEY_COLUMNS,
            csv_rows=[_money_csv(row) for row in figures.totals],
            terms=MONEY_TERMS,
        ),
        Section(
            slug="revenue-by-month",
            title="Revenue per month",
            parts=_per_currency("month", "Revenue per month", "Month", figures.by_month, chart_rows=None),
            csv_columns=["Month (YYYY-MM)", *CSV_MONEY_COLUMNS],
            csv_rows=[[month, *_money_csv(row)] for month, row in month_rows],
        ),
        Section(
            slug="revenue-by-doctor",
            title="Revenue per doctor",
            parts=_per_currency("doctor", "Revenue per doctor", "Doctor", figures.by_doctor, chart_rows=CHART_DOCTORS),
            csv_columns=["Doctor", *CSV_MONEY_COLUMNS],
            csv_rows=[[row.label, *_money_csv(row)] for row in doctor_rows],
        ),
        Section(
            slug="appointments-by-status",
            title="Appointments by status",
            parts=[
                Part(
                    "Appointments by status",
                    "statuses",
                    ["Status", "Appointments"],
                    statuses,
                    chart=bar_chart(
                        title="Appointments by status",
                        dom_id="chart-statuses",
                        bars=[(status.label, status.count, str(status.count)) for status in figures.statuses],
                    ),
                )
            ],
            csv_columns=["Status", "Appointments"],
            csv_rows=[[status.status, status.count] for status in figures.statuses],
            note="Appointments whose time falls in the range, whatever became of their payment.",
        ),
        Section(
            slug="rates",
            title="No-shows and cancellations",
            parts=[
                Part(
                    "No-shows and cancellations",
                    "rates",
                    ["Measure", "Count", "Out of", "Rate"],
                    [[name, str(rate.numerator), str(rate.denominator), rate.percent_text] for name, rate in rates],
                )
            ],
            csv_columns=["Measure", "Count", "Out of", "Rate (%)"],
            # No visit to count gives an empty rate, not a zero one.
            csv_rows=[[name, rate.numerator, rate.denominator, rate.percent or ""] for name, rate in rates],
            terms=RATE_TERMS,
        ),
    ]


def _csv_response(section: Section, figures: MoneyDashboard) -> HttpResponse:
    name = f"money-dashboard-{section.slug}-{figures.start:%Y-%m-%d}-to-{figures.end:%Y-%m-%d}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(section.csv_columns)
    writer.writerows(section.csv_rows)
    return response


def money_dashboard_view(request) -> HttpResponse:
    doctors = dashboard_doctors()
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.HOSPITAL_TIME_ZONE))
    form = DashboardFilterForm(request.GET, doctors=doctors, today=today)
    if not form.is_valid():
        if "export" in request.GET:
            return HttpResponse("Fix the dashboard's filter first.", status=400, content_type="text/plain")
        return _page(request, form=form, figures=None, sections=[])
    figures = money_dashboard(
        start=form.cleaned_data["start"],
        end=form.cleaned_data["end"],
        doctors=doctors,
        doctor_id=form.cleaned_data["doctor"],
    )
    sections = _sections(figures)
    if "export" in request.GET:
        chosen = next((section for section in sections if section.slug == request.GET["export"]), None)
        if chosen is None:
            raise Http404("No such table.")
        return _csv_response(chosen, figures)
    return _page(request, form=form, figures=figures, sections=sections)


def _page(request, *, form, figures, sections) -> TemplateResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Money dashboard",
        "hospital_zone": settings.HOSPITAL_TIME_ZONE,
        "form": form,
        "figures": figures,
        "sections": sections,
    }
    return TemplateResponse(request, "admin/payments/money_dashboard.html", context)
