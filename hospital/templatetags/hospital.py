from django import template

from hospital.models import booking_cutoff_words
from hospital.money import format_money

register = template.Library()


@register.filter
def money(amount: int, currency: str) -> str:
    return format_money(amount, currency)


@register.simple_tag(takes_context=True)
def nav_active(context, *url_names: str) -> str:
    match = context["request"].resolver_match
    return "is-active" if match and match.view_name in url_names else ""


@register.simple_tag
def booking_cutoff_text() -> str:
    return booking_cutoff_words()
