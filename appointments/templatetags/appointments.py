from collections.abc import Iterable

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from appointments.selectors import AppointmentCard, Badges
from hospital.templatetags.hospital import your_time

register = template.Library()

_BADGES = '<span class="badges">\n  <span class="badge badge-status badge-{}">{}</span>\n{}{}</span>'
_PAYMENT_BADGE = (
    '  <span class="badge badge-payment badge-{}"><span class="visually-hidden">Payment: </span>{}</span>\n'
)
_HOLD = '  <span class="hold-until">held until <time datetime="{}">{}</time>{} ({} left)</span>\n'
_CARD = """<li class="appointment-card">
  <div class="date-tile" aria-hidden="true">
    <span class="date-tile-month">{month}</span>
    <span class="date-tile-day">{day_of_month}</span>
    <span class="date-tile-weekday">{weekday}</span>
  </div>
  <div class="appointment-card-body">
    <h2><a href="{url}">{doctor}</a></h2>
    <p class="specialty-tag">{specialty}</p>
    <p class="appointment-when">
      <time datetime="{iso}">{day}, {starts}</time>
      <span class="zone">{zone_abbr} · {zone}</span>{yours}
    </p>
  </div>
  <div class="appointment-card-side">
    {badges}
    <a class="button button-small button-secondary" href="{url}">{action}<span class="visually-hidden"> for \
{doctor}, {day} {starts}</span></a>
  </div>
</li>
"""


def _badges(badges: Badges, hold: str = "") -> SafeString:
    """The badges' markup; `hold` (already safe) goes between the status and the payment."""
    payment = format_html(_PAYMENT_BADGE, badges.payment_colour, badges.payment_label) if badges.payment_label else ""
    return format_html(_BADGES, badges.status_colour, badges.status_label, hold, payment)


@register.simple_tag
def appointment_badges(badges: Badges) -> SafeString:
    """`{% appointment_badges appointment.badges %}`: the status badge, and the payment's where
    there is one to show."""
    return _badges(badges)


@register.simple_tag
def menu_options(choices: Iterable[tuple[str, str]], chosen: str) -> SafeString:
    """`{% menu_options form.fields.status.choices status %}`: a menu's options with the chosen one
    selected. Django's select widget renders a template per option, which costs more than the list."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if value == chosen else "", label) for value, label in choices),
    )


@register.simple_tag
def appointment_cards(cards: Iterable[AppointmentCard]) -> SafeString:
    """`{% appointment_cards page.object_list %}`: My appointments' cards as list items. One Python
    loop: some twenty template variables per card cost more than the rest of the page."""
    return format_html_join("", "{}", ((_card(card),) for card in cards))


def _card(card: AppointmentCard) -> SafeString:
    times, visit = card.times, card.times.visit
    hold = (
        format_html(_HOLD, times.pay_by.iso, times.pay_by.text, your_time(times.pay_by.yours), times.left)
        if times.payable
        else ""
    )
    return format_html(
        _CARD,
        month=visit.month,
        day_of_month=visit.day_of_month,
        weekday=visit.weekday,
        url=card.detail_url,
        doctor=card.doctor_name,
        specialty=card.specialty,
        iso=visit.iso,
        day=visit.day,
        starts=visit.starts,
        zone_abbr=visit.zone_abbr,
        zone=visit.zone,
        yours=your_time(visit.yours),
        badges=_badges(card.badges, hold),
        action="Pay now" if times.payable else "Details",
    )
