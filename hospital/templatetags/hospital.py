from html import escape

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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


@register.filter
def your_time(clock: str) -> str:
    """`{{ times.yours|your_time }}`: ' (your time: 09:00 EDT)' beside the doctor's time, or
    nothing when the viewer's clock reads the same (`yours` is computed by the page's selector)."""
    return format_html(' <span class="your-time">(your time: {})</span>', clock) if clock else ""


@register.simple_tag(takes_context=True)
def nav_active(context, *url_names: str) -> str:
    match = context["request"].resolver_match
    return "is-active" if match and match.view_name in url_names else ""


@register.simple_tag
def slot_chips(chips, can_book: bool) -> str:
    """`{% slot_chips day.slots can_book %}`: one day's free times as list items, booking links
    for patients and visitors, plain times for other roles. One Python loop with the standard
    library's escape: a doctor page has 100+ chips, and template variables or format_html per
    chip cost more than the rest of the page."""
    items = []
    for chip in chips:
        time = f'<time datetime="{chip.iso}">{chip.time_text}</time> <span class="zone">{escape(chip.zone_abbr)}</span>'
        if can_book:
            link = f'<a class="slot-chip" href="{chip.book_url}" aria-label="{escape(chip.aria_label)}">{time}</a>'
            items.append(f"<li>{link}</li>")
        else:
            items.append(f'<li><span class="slot-chip slot-chip-static">{time}</span></li>')
    # Safe: the URL, ISO time and "09:30" are built from numbers; the other texts are escaped above.
    return mark_safe("".join(items))  # noqa: S308


@register.simple_tag
def specialty_options(specialties, chosen: str) -> str:
    """`{% specialty_options specialties chosen %}`: a specialty menu's <option>s, "All specialties"
    first, `chosen` (a slug or "") selected. One loop in Python, like `slot_chips`."""
    options = [f'<option value=""{"" if chosen else " selected"}>All specialties</option>']
    for specialty in specialties:
        selected = " selected" if specialty.slug == chosen else ""
        options.append(f'<option value="{escape(specialty.slug)}"{selected}>{escape(specialty.name)}</option>')
    return mark_safe("".join(options))  # noqa: S308  (every text escaped above)


@register.simple_tag
def specialty_cards(specialties) -> str:
    """`{% specialty_cards specialties %}`: the home page's grid items, one link to the directory each."""
    return mark_safe(  # noqa: S308  (every text escaped)
        "".join(
            f'<li><a class="specialty-card" href="{escape(specialty.directory_url)}">'
            f"<strong>{escape(specialty.name)}</strong><span>{escape(specialty.summary)}</span>"
            f'<span class="muted">{specialty.doctor_count_text}</span></a></li>'
            for specialty in specialties
        )
    )


@register.simple_tag
def doctor_rating(rating) -> str:
    """`{% doctor_rating card.rating %}`: "★ 4.7 out of 5 (23 reviews)", or "No reviews yet" for
    None (hospital.selectors.rating_summary). The star is decoration: a screen reader reads the
    words, after a hidden "Patients' rating:" that says what the numbers are."""
    if rating is None:
        return mark_safe('<p class="rating rating-none">No reviews yet</p>')
    return format_html(
        '<p class="rating"><span class="rating-star" aria-hidden="true">★</span> '
        '<span class="visually-hidden">Patients\' rating: </span><strong>{}</strong> out of {} '
        '<span class="rating-count">({})</span></p>',
        rating.average_text,
        rating.out_of,
        rating.count_text,
    )
