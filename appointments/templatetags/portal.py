"""The doctor's portal rows, drawn in Python: a day of twenty visits with their buttons is some
thirty template variables a row, which would cost more than the rest of the page."""

from collections.abc import Iterable
from html import escape

from django import template
from django.forms import BoundField
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from appointments.portal.selectors import StatusCount, VisitRow, WeekDay
from appointments.templatetags.appointments import menu_options

register = template.Library()

_ROW = """<tr class="visit-row">
  <td class="visit-time" data-label="Time">{when}</td>
  <th scope="row" class="visit-patient" data-label="Patient"><a href="{url}">{patient}</a></th>
  <td class="visit-reason" data-label="Reason">{reason}</td>
  <td data-label="Status"><span class="badge badge-status badge-{colour}">{status}</span></td>
  <td data-label="Payment">{payment}</td>
  <td class="visit-actions{empty}" data-label="Action">{actions}</td>
</tr>
"""
_TIME = '<time datetime="{iso}">{date}{starts}</time>–{ends} <span class="zone">{zone}</span>'
# A visit the clocks change during: each end in its own zone ("01:30 EST–03:00 EDT").
_TIME_ACROSS_A_CHANGE = (
    '<time datetime="{iso}">{date}{starts}</time> <span class="zone">{zone}</span>–{ends} '
    '<span class="zone">{ends_zone}</span>'
)
_PAID = '<span class="badge badge-payment badge-green">Paid</span>'
_NOT_PAID = '<span class="badge badge-payment badge-grey">Not paid</span>'
_NO_REASON = '<span class="muted">None given</span>'
_ACTION = (
    '<form method="post" action="{url}" class="inline-form">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">{back_field}'
    '<button type="submit" class="button button-small{style}">{label}'
    '<span class="visually-hidden"> for {patient}, {starts}</span></button></form>'
)
_BACK = '<input type="hidden" name="next" value="{}">'
_NO_ACTION = '<span class="muted" aria-hidden="true">–</span><span class="visually-hidden">None now</span>'


def _row(row: VisitRow, *, csrf: str, back_field: str, dated: bool) -> str:
    """One row's markup, every text escaped here (format_html per value costs more than the page)."""
    patient, starts = escape(row.patient_name), escape(row.starts)
    when = (_TIME if row.ends_zone_abbr == row.zone_abbr else _TIME_ACROSS_A_CHANGE).format(
        iso=escape(row.iso),
        date=f'<span class="visit-date">{escape(row.date)}</span> ' if dated else "",
        starts=starts,
        ends=escape(row.ends),
        zone=escape(row.zone_abbr),
        ends_zone=escape(row.ends_zone_abbr),
    )
    actions = "".join(
        _ACTION.format(
            url=escape(action.url),
            csrf=csrf,
            back_field=back_field if action.returns_here else "",
            style="" if action.primary else " button-secondary",
            label=escape(action.label),
            patient=patient,
            starts=starts,
        )
        for action in row.actions
    )
    return _ROW.format(
        when=when,
        url=escape(row.detail_url),
        patient=patient,
        reason=escape(row.reason) if row.reason else _NO_REASON,
        colour=escape(row.status_colour),
        status=escape(row.status_label),
        payment=_PAID if row.is_paid else _NOT_PAID,
        actions=actions or _NO_ACTION,
        empty="" if actions else " is-empty",
    )


@register.simple_tag
def visit_rows(rows: Iterable[VisitRow], csrf_token: str, back: str, dated: bool = False) -> SafeString:
    """`{% visit_rows agenda.rows csrf_token back_here %}`: the table's rows, each with the buttons
    its state allows, which come back to `back` but for Start, which opens the visit's page and its
    note (`dated`: the day is printed before the time)."""
    csrf, back_field = escape(str(csrf_token)), _BACK.format(escape(back))
    return mark_safe("".join(_row(row, csrf=csrf, back_field=back_field, dated=dated) for row in rows))  # noqa: S308  (escaped in _row)


_WEEK_VISIT = (
    '<li class="week-visit week-visit-{colour}"><a href="{url}"><time datetime="{iso}">{starts}</time> {patient}</a> '
    '<span class="badge badge-status badge-{colour}">{status}</span></li>'
)
_WEEK_DAY = """<li class="week-day{today}"{current}>
  <h2 class="week-day-head"><a href="{url}"><span class="week-day-name">{weekday}</span> {date}</a>{today_tag}</h2>
  {visits}
</li>
"""


def _week_visits(rows: list[VisitRow]) -> str:
    if not rows:
        return '<p class="week-empty">No visits</p>'
    items = "".join(
        _WEEK_VISIT.format(
            colour=escape(row.status_colour),
            url=escape(row.detail_url),
            iso=escape(row.iso),
            starts=escape(row.starts),
            patient=escape(row.patient_name),
            status=escape(row.status_label),
        )
        for row in rows
    )
    return f'<ul class="week-visits">{items}</ul>'


@register.simple_tag
def week_days(days: Iterable[WeekDay]) -> SafeString:
    """`{% week_days week.days %}`: the seven days as list items, each with its visits or "No visits"."""
    return mark_safe(  # noqa: S308  (every text escaped)
        "".join(
            _WEEK_DAY.format(
                today=" is-today" if day.is_today else "",
                current=' aria-current="date"' if day.is_today else "",
                url=escape(day.url),
                weekday=escape(day.weekday),
                date=escape(day.date),
                today_tag=' <span class="today-tag">Today</span>' if day.is_today else "",
                visits=_week_visits(day.rows),
            )
            for day in days
        )
    )


@register.simple_tag
def status_counts(counts: Iterable[StatusCount], link_query: str | None = None) -> SafeString:
    """`{% status_counts agenda.counts %}`: "3 Confirmed · 1 In progress" as list items; with
    `link_query` (the list's other filters) each links to the list narrowed to its status."""
    items = []
    for count in counts:
        text = format_html('<span class="count-number">{}</span> {}', count.count, count.label)
        if link_query is not None:
            query = f"{link_query}&status={count.status}" if link_query else f"status={count.status}"
            text = format_html('<a href="?{}">{}</a>', query, text)
        items.append(format_html('<li class="status-count status-count-{}">{}</li>', count.colour, text))
    return SafeString("".join(items))


_FILTER_FIELD = """<div class="field{has_error}">
  <label for="{id}">{label}</label>
  {errors}{control}
</div>"""


@register.simple_tag
def filter_field(field: BoundField, chosen: str = "", input_type: str = "") -> SafeString:
    """`{% filter_field form.status status %}`, `{% filter_field form.from_day input_type="date" %}`:
    a filter's label, its errors and its menu (with `chosen`, the value in use, selected) or
    input (with what was typed), without the widget templates."""
    error_id = f"{field.auto_id}_error"
    errors = (
        format_html(
            '<ul class="field-errors" id="{}">{}</ul>\n  ',
            error_id,
            format_html_join("", "<li>{}</li>", ((e,) for e in field.errors)),
        )
        if field.errors
        else ""
    )
    invalid = format_html(' aria-invalid="true" aria-describedby="{}"', error_id) if field.errors else ""
    if input_type:
        control = format_html(
            '<input type="{}" name="{}" id="{}" value="{}"{}>',
            input_type, field.html_name, field.auto_id, field.value() or "", invalid,
        )  # fmt: skip
    else:
        control = format_html(
            '<select name="{}" id="{}"{}>{}</select>',
            field.html_name, field.auto_id, invalid, menu_options(field.field.choices, chosen),
        )  # fmt: skip
    return format_html(
        _FILTER_FIELD,
        has_error=" has-error" if field.errors else "",
        id=field.auto_id,
        label=field.label,
        errors=errors,
        control=control,
    )
