from django import template

from hospital import timefmt
from hospital.money import format_money

register = template.Library()


@register.filter
def money(amount: int, currency: str) -> str:
    return format_money(amount, currency)


@register.filter
def when(moment, zone: str) -> str:
    """`{{ starts|when:doctor.timezone }}`: 'Wednesday 2 December 2026, 10:00 JST (Asia/Tokyo)',
    whatever zone is active (e-mails are rendered in workers, where UTC is)."""
    return timefmt.format_when(moment, zone) if moment else ""


@register.simple_tag
def time_beside(moment, zone: str, beside: str) -> str:
    """`{% time_beside starts patient_zone doctor.timezone as yours %}`: the moment on the
    patient's clock, or '' when it reads as the doctor's does."""
    return timefmt.format_beside(moment, zone=zone, beside=beside) if moment else ""


@register.simple_tag(takes_context=True)
def nav_active(context, *url_names: str) -> str:
    match = context["request"].resolver_match
    return "is-active" if match and match.view_name in url_names else ""
