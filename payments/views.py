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
MONEY_COLUMNS = ["Currency", "Captured", "Refunded", "Net"]


@dataclass(frozen=True)
class Section:
    """A heading, its charts and the one table they are drawn from, shown and exported alike."""

    slug: str  # the CSV's ?export= value and file name
    title: str
    columns: list[str]
    rows: list[list[str]]  # as shown
    csv_columns: list[str]
    csv_rows: list[list]  # as exported: amounts in major units, codes, ISO months
    charts: list[BarChart] = field(default_factory=list)
    note: str = ""


def _money_cells(row: MoneyRow) -> list[str]:
    return [row.currency.upper(), row.captured_text, row.refunded_text, row.net_text]


def _money_csv(row: MoneyRow) -> list:
    return [
        row.currency.upper(),
        *(to_major_units(value, row.currency) for value in (row.captured, row.refunded, row.net)),
    ]


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
    return [
        Section(
            slug="totals",
            title="Net revenue in the range",
            columns=MONEY_COLUMNS,
            rows=[_money_cells(row) for row in figures.totals],
            csv_columns=MONEY_COLUMNS,
            csv_rows=[_money_csv(row) for row in figures.totals],
        ),
        Section(
            slug="revenue-by-month",
            title="Revenue per month",
            columns=["Month", *MONEY_COLUMNS],
            rows=[[row.label, *_money_cells(row)] for _month, row in month_rows],
            csv_columns=["Month (YYYY-MM)", *MONEY_COLUMNS],
            csv_rows=[[month, *_money_csv(row)] for month, row in month_rows],
            charts=[
                bar_chart(
                    title=f"Net revenue per month in {currency.upper()}",
                    dom_id=f"chart-month-{currency}",
                    bars=[(row.label, row.net, row.net_text) for row in rows],
                )
                for currency, rows in figures.by_month.items()
            ],
        ),
        Section(
            slug="revenue-by-doctor",
            title="Revenue per doctor",
            columns=["Doctor", *MONEY_COLUMNS],
            rows=[[row.label, *_money_cells(row)] for row in doctor_rows],
            csv_columns=["Doctor", *MONEY_COLUMNS],
            csv_rows=[[row.label, *_money_csv(row)] for row in doctor_rows],
            charts=[
                bar_chart(
                    title=f"Net revenue per doctor in {currency.upper()}"
                    + (f", the top {CHART_DOCTORS}" if len(rows) > CHART_DOCTORS else ""),
                    dom_id=f"chart-doctor-{currency}",
                    bars=[(row.label, row.net, row.net_text) for row in rows[:CHART_DOCTORS]],
                )
                for currency, rows in figures.by_doctor.items()
            ],
        ),
        Section(
            slug="appointments-by-status",
            title="Appointments by status",
            columns=["Status", "Appointments"],
            rows=[[status.label, str(status.count)] for status in figures.statuses],
            csv_columns=["Status", "Appointments"],
            csv_rows=[[status.status, status.count] for status in figures.statuses],
            charts=[
                bar_chart(
                    title="Appointments by status",
                    dom_id="chart-statuses",
                    bars=[(status.label, status.count, str(status.count)) for status in figures.statuses],
                )
            ],
            note="Appointments whose time falls in the range, whatever became of their payment.",
        ),
        Section(
            slug="rates",
            title="No-shows and cancellations",
            columns=["Measure", "Count", "Out of", "Rate"],
            rows=[[name, str(rate.numerator), str(rate.denominator), rate.percent_text] for name, rate in rates],
            csv_columns=["Measure", "Count", "Out of", "Rate (%)"],
            # No visit to count gives an empty rate, not a zero one.
            csv_rows=[[name, rate.numerator, rate.denominator, rate.percent or ""] for name, rate in rates],
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
