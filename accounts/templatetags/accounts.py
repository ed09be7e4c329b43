from django import template
from django.utils.http import urlencode

from accounts.next_url import way_back_url

register = template.Library()


@register.simple_tag(takes_context=True)
def next_query(context) -> str:
    """`?next=...` for links to log in or sign up, so the visitor comes back where they were
    (e.g. the time they chose to book); "" when there is nowhere to come back to."""
    next_url = way_back_url(context["request"])
    return f"?{urlencode({'next': next_url})}" if next_url else ""
