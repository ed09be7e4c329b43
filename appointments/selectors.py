import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Subquery, Window
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil

from accounts.access import get_for_user_or_404
from accounts.models import PatientProfile
from appointments import ical, payment_facts, visit_place
from appointments.models import (
    Appointment,
    AppointmentLogEntry,
    AppointmentStatus,
    DoctorCalendarFeed,
    Review,
    VisitNote,
    VisitNoteAddendum,
)
from appointments.visit_actions import DoctorAction, doctor_action_refusal, doctor_actions
from hospital import slot_holders, timefmt
from hospital.models import Rating, Slot, booking_cutoff
from hospital.selectors import url_for_ids
from hospital.slot_holders import BookedVisit

_ORDERINGS = {
    "soonest": ["slot__starts_at"],
    "latest": ["-slot__starts_at"],
    "booked": ["-created_at"],
}


@dataclass(frozen=True)
class AppointmentTimes:
    """What an appointment's pages print about time, computed once per row (`appointment.times`).

    Every time is on the doctor's clock, named, with the viewer's own beside it where their zone
    reads differently. The hold is shown ending when its Checkout session does: the grace the
    hold keeps after that (for a payment finished in the last second) is never promised."""

    visit: timefmt.VisitTimes
    payable: bool  # awaiting payment and the Checkout session still open
    pay_by: timefmt.Shown | None  # the session's expiry, while payable
    left: str  # "35 minutes", while payable
    # The detail page's other times; empty on the list.
    booked: timefmt.Shown | None = None
    paid: timefmt.Shown | None = None
    timeline: list[tuple[AppointmentLogEntry, timefmt.Shown]] = field(default_factory=list)
    refunds: list[tuple[object, str]] = field(default_factory=list)  # (payments.Refund, its day)


# A badge's colour: the visit's status, and the payment's status as the viewer reads it (the
# payments app decides that reading: its words are handed in, this layer cannot import them).
STATUS_COLOURS = {
    AppointmentStatus.CONFIRMED: "green",
    AppointmentStatus.COMPLETED: "green",
    AppointmentStatus.IN_PROGRESS: "blue",
    AppointmentStatus.NO_SHOW: "red",
}
_PAYMENT_COLOURS = {"paid": "green", "refunded": "blue", "partially_refunded": "blue", "disputed": "amber"}

# A stored payment status -> how the viewer reads it: a TextChoices member (value and label).
PaymentStatusShown = Callable[[str], models.TextChoices]


@dataclass(frozen=True)
class Badges:
    """An appointment's status and payment badges, as `{% appointment_badges %}` prints them (the
    detail page, and each card of the list). A hold whose Checkout session has ended reads "Hold lapsed" even
    before anything has marked it expired; "Unpaid" gets no badge (the status says it)."""

    status_label: str
    status_colour: str
    payment_label: str  # "" for no payment badge
    payment_colour: str


def status_badge(*, status: str, payable: bool) -> tuple[str, str]:
    """A status badge's words and colour; `payable`: a hold that may still be paid for."""
    if payable:
        return "Awaiting payment", "amber"
    if status == AppointmentStatus.PENDING_PAYMENT:
        return "Hold lapsed", "grey"
    return AppointmentStatus(status).label, STATUS_COLOURS.get(status, "grey")


def _badges(
    *, status: str, payable: bool, payment_status: str | None, payment_status_shown: PaymentStatusShown
) -> Badges:
    """`payment_status` is the stored one, None for an appointment without a payment."""
    status_label, status_colour = status_badge(status=status, payable=payable)
    if payment_status is None or payment_status == "unpaid":
        return Badges(status_label, status_colour, "", "")
    shown = payment_status_shown(payment_status)
    return Badges(status_label, status_colour, shown.label, _PAYMENT_COLOURS.get(shown.value, "red"))


def viewer_time_zone(user) -> str:
    """The zone whose clock is shown beside the doctor's: a patient's own. Staff and doctors read
    the doctor's time alone."""
    profile = getattr(user, "patient_profile", None) if user.is_patient else None
    return profile.timezone if profile else ""


def _with_checkout_expiry(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return appointments.annotate(checkout_expires_at=payment_facts.checkout_expiry())


def _times(appointment: Appointment, *, viewer_zone: str, now: dt.datetime) -> AppointmentTimes:
    return _times_of(
        status=appointment.status,
        starts_at=appointment.slot.starts_at,
        ends_at=appointment.slot.ends_at,
        pay_by=appointment.checkout_expires_at,
        zone=appointment.doctor.timezone,
        viewer_zone=viewer_zone,
        now=now,
    )


def _times_of(
    *,
    status: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    pay_by: dt.datetime | None,
    zone: str,
    viewer_zone: str,
    now: dt.datetime,
) -> AppointmentTimes:
    payable = status == AppointmentStatus.PENDING_PAYMENT and pay_by is not None and pay_by > now
    return AppointmentTimes(
        visit=timefmt.visit_times(starts_at=starts_at, ends_at=ends_at, zone=zone, viewer_zone=viewer_zone),
        payable=payable,
        pay_by=timefmt.shown(pay_by, zone=zone, viewer_zone=viewer_zone) if payable else None,
        left=timeuntil(pay_by, now) if payable else "",
    )


@dataclass(frozen=True)
class AppointmentCard:
    """One row of My appointments, as `{% appointment_cards %}` prints it."""

    detail_url: str
    doctor_name: str
    specialty: str
    times: AppointmentTimes
    badges: Badges


# What a card prints, read as values: no model instances for a list page.
_CARD_FIELDS = (
    "pk",
    "status",
    "checkout_expires_at",
    "slot__starts_at",
    "slot__ends_at",
    "doctor__timezone",
    "doctor__user__first_name",
    "doctor__user__last_name",
    "doctor__specialty__name",
    "payment__status",
    "patient__patient_profile__timezone",  # the viewer's own zone: the rows are theirs
)


@dataclass(frozen=True)
class AppointmentPage:
    """One page of `appointments_for_patient`: its cards and how many appointments there are in all."""

    cards: list[AppointmentCard]
    count: int
    number: int  # the page shown: the last one when the asked-for page is past the end


def appointment_page(
    appointments: QuerySet[Appointment],
    *,
    number: int,
    per_page: int,
    payment_status_shown: PaymentStatusShown,
    now: dt.datetime | None = None,
) -> AppointmentPage:
    """Page `number` (from 1) of `appointments` (one patient's, who is the viewer) as cards, with
    the total and the patient's zone read in the same query (the total a window over the rows
    before the limit). A page past the end shows the last one."""
    now = now or timezone.now()
    rows, count, number = values_page(appointments, fields=_CARD_FIELDS, number=number, per_page=per_page)
    viewer_zone = (rows[0]["patient__patient_profile__timezone"] or "") if rows else ""
    detail_url = url_for_ids("appointments:detail")
    cards = []
    for row in rows:
        times = _times_of(
            status=row["status"],
            starts_at=row["slot__starts_at"],
            ends_at=row["slot__ends_at"],
            pay_by=row["checkout_expires_at"],
            zone=row["doctor__timezone"],
            viewer_zone=viewer_zone,
            now=now,
        )
        cards.append(
            AppointmentCard(
                detail_url=detail_url(row["pk"]),
                doctor_name=_doctor_name(row["doctor__user__first_name"], row["doctor__user__last_name"]),
                specialty=row["doctor__specialty__name"],
                times=times,
                badges=_badges(
                    status=row["status"],
                    payable=times.payable,
                    payment_status=row["payment__status"],
                    payment_status_shown=payment_status_shown,
                ),
            )
        )
    return AppointmentPage(cards=cards, count=count, number=number)


def _doctor_name(first_name: str, last_name: str) -> str:
    """Doctor.display_name, from the two names alone."""
    return f"Dr {f'{first_name} {last_name}'.strip()}"


def values_page(rows: QuerySet, *, fields: Sequence[str], number: int, per_page: int) -> tuple[list[dict], int, int]:
    """Page `number` (from 1) of `rows` as `fields` values, the total and the page shown, from one
    query: the total is a window over the rows before the limit. A page past the end (an old
    link) shows the last one, for two more queries, only then."""

    def read(number: int) -> list[dict]:
        start = (number - 1) * per_page
        return list(rows.annotate(total=Window(Count("pk"))).values(*fields, "total")[start : start + per_page])

    page = read(number)
    count = page[0]["total"] if page else 0
    if not page and number > 1:
        count = rows.count()
        number = max(1, -(-count // per_page))
        page = read(number)
    return page, count, number


def slot_to_book(*, slot_id: int, patient) -> Slot:
    """A listed doctor's slot as the booking page shows it, only the columns the page prints, with
    `patient_zone` (the patient's own, or None) read in the same query; an unknown slot or unlisted
    doctor is a 404. Whether it is free is a query of its own: as an Exists here it costs more to
    build than a second query."""
    patient_zone = PatientProfile.objects.filter(user_id=patient.pk).values("timezone")
    return get_object_or_404(
        Slot.objects.filter(doctor__is_active=True)
        .select_related("doctor__user", "doctor__specialty")
        .only(
            "starts_at",
            "ends_at",
            "is_blocked",
            "doctor__timezone",
            "doctor__slot_minutes",
            "doctor__fee_amount",
            "doctor__fee_currency",
            "doctor__visit_type",
            "doctor__site",
            "doctor__room",
            "doctor__user__first_name",
            "doctor__user__last_name",
            "doctor__specialty__name",
        )
        .annotate(patient_zone=Subquery(patient_zone)),
        pk=slot_id,
    )


def slot_is_free(*, slot: Slot, now: dt.datetime | None = None) -> bool:
    """What `Slot.objects.bookable()` says of this one slot, from the columns `slot_to_book` read and
    a plain query per holder: its NOT EXISTS form cost the page more to build than both."""
    now = now or timezone.now()
    if slot.is_blocked or slot.starts_at <= now + booking_cutoff():
        return False
    return not any(holding.filter(slot_id=slot.pk).exists() for holding in slot_holders.holding_querysets(now=now))


def slot_times(slot: Slot) -> timefmt.VisitTimes:
    """A slot's time for the booking page (from `slot_to_book`), as the appointment pages print it."""
    return timefmt.visit_times(
        starts_at=slot.starts_at, ends_at=slot.ends_at, zone=slot.doctor.timezone, viewer_zone=slot.patient_zone or ""
    )


def default_sort(*, when: str) -> str:
    """Upcoming visits read soonest first; past ones latest first."""
    return "latest" if when == "past" else "soonest"


def still_to_come(*, now: dt.datetime) -> Q:
    """A visit the patient may still go to: a hold still being paid for, a confirmed visit until its
    slot ends, and one under way until the doctor completes it (it may run over). Everything else
    (completed, no-show, canceled, expired, a lapsed hold, a confirmed slot that has ended) is past."""
    return (
        Q(status=AppointmentStatus.PENDING_PAYMENT, hold_expires_at__gt=now)
        | Q(status=AppointmentStatus.CONFIRMED, slot__ends_at__gt=now)
        | Q(status=AppointmentStatus.IN_PROGRESS)
    )


def appointments_for_patient(
    *,
    user,
    when: str = "upcoming",
    status: str = "",
    payment_statuses: Sequence[str] = (),
    sort: str = "",
    now: dt.datetime | None = None,
) -> QuerySet[Appointment]:
    """The patient's appointments for the list page (`appointment_page` reads what a card shows).

    "Upcoming" and "past" split every appointment in two; `payment_statuses` is any of them."""
    now = now or timezone.now()
    appointments = Appointment.objects.filter(patient=user)
    if when == "past":
        appointments = appointments.exclude(still_to_come(now=now))
    else:
        appointments = appointments.filter(still_to_come(now=now))
    if status:
        appointments = appointments.filter(status=status)
    if payment_statuses:
        appointments = appointments.filter(payment__status__in=payment_statuses)
    return _with_checkout_expiry(appointments).order_by(*_ORDERINGS.get(sort or default_sort(when=when)), "pk")


def appointment_for_user(*, user, pk: int) -> Appointment:
    """One appointment the user may act on, with its payment; someone else's is a 404."""
    return get_for_user_or_404(Appointment.objects.select_related("payment"), user=user, pk=pk)


def appointment_detail(
    *, user, pk: int, payment_status_shown: PaymentStatusShown, now: dt.datetime | None = None
) -> Appointment:
    """One appointment as its detail page shows it, with its `times` and `badges`; someone
    else's is a 404."""
    now = now or timezone.now()
    appointment = get_for_user_or_404(
        _with_checkout_expiry(
            Appointment.objects.select_related("doctor__user", "doctor__specialty", "slot", "payment")
        ).prefetch_related("log_entries", "payment__refunds"),
        user=user,
        pk=pk,
    )
    viewer_zone = viewer_time_zone(user)
    zone = appointment.doctor.timezone
    payment = getattr(appointment, "payment", None)

    def at(moment: dt.datetime) -> timefmt.Shown:
        return timefmt.shown(moment, zone=zone, viewer_zone=viewer_zone, style=timefmt.format_short)

    appointment.times = replace(
        _times(appointment, viewer_zone=viewer_zone, now=now),
        booked=at(appointment.created_at),
        paid=at(payment.paid_at) if payment and payment.paid_at else None,
        timeline=[(entry, at(entry.at)) for entry in appointment.log_entries.all()],
        refunds=[(refund, timefmt.format_date(refund.created_at, zone)) for refund in payment.refunds.all()]
        if payment
        else [],
    )
    appointment.badges = _badges(
        status=appointment.status,
        payable=appointment.times.payable,
        payment_status=payment.status if payment else None,
        payment_status_shown=payment_status_shown,
    )
    with_visit_place(appointment, user=user, now=now)
    return appointment


# A visit that is on (or awaiting payment) goes into calendars; a canceled one comes out of them.
_IN_CALENDARS = (AppointmentStatus.CONFIRMED, AppointmentStatus.IN_PROGRESS)


def with_visit_place(appointment: Appointment, *, user, now: dt.datetime) -> Appointment:
    """Give an appointment read with its slot and doctor what `appointments/includes/visit_place.html`
    prints: `place` (None for a visit that is off: canceled, expired, a lapsed hold) and
    `calendar_url` (its .ics, for its own patient or doctor while it is on)."""
    off = appointment.status in (AppointmentStatus.CANCELED, AppointmentStatus.EXPIRED) or (
        appointment.status == AppointmentStatus.PENDING_PAYMENT and not appointment.hold_is_live(now=now)
    )
    attends = user.pk in (appointment.patient_id, appointment.doctor.user_id)
    if off:
        appointment.place = None
    elif attends:
        appointment.place = visit_place.appointment_place(appointment, viewer_zone=viewer_time_zone(user), now=now)
    else:
        appointment.place = visit_place.place_for_others(appointment)
    appointment.calendar_url = (
        reverse("appointments:calendar", args=[appointment.pk])
        if attends and appointment.status in _IN_CALENDARS
        else ""
    )
    return appointment


@dataclass(frozen=True)
class ReviewBox:
    """What a completed visit's page says about its rating: the form, or the rating given."""

    can_rate: bool  # the viewer is the patient, the visit was paid for and is not rated yet
    review: Review | None = None
    rating_text: str = ""  # "4 out of 5 · Very good"
    stars: str = ""  # "★★★★☆", decoration beside the words
    rated_on: str = ""  # "3 Jun 2026", on the doctor's calendar


def review_box(*, appointment: Appointment, user) -> ReviewBox | None:
    """For `appointment_detail`'s appointment: None when there is nothing to say (a visit not
    completed, or one its patient may not rate)."""
    if appointment.status != AppointmentStatus.COMPLETED:
        return None
    review = Review.objects.filter(appointment_id=appointment.pk).first()
    if review is None:
        may_rate = user.pk == appointment.patient_id and payment_facts.appointment_is_paid(appointment.pk)
        return ReviewBox(can_rate=True) if may_rate else None
    highest = max(Rating.values)
    return ReviewBox(
        can_rate=False,
        review=review,
        rating_text=f"{review.rating} out of {highest} · {review.get_rating_display()}",
        stars="★" * review.rating + "☆" * (highest - review.rating),
        rated_on=timefmt.format_date(review.created_at, appointment.doctor.timezone),
    )


def patient_hold_on_slot(*, user, slot_id: int, now: dt.datetime | None = None) -> Appointment | None:
    """The patient's own live (unpaid, not lapsed) hold on a slot, if any, with its `times`."""
    now = now or timezone.now()
    appointment = (
        _with_checkout_expiry(Appointment.objects.select_related("doctor", "slot"))
        .filter(patient=user, slot_id=slot_id)
        .live_holds(now=now)
        .first()
    )
    if appointment is not None:
        appointment.times = _times(appointment, viewer_zone=viewer_time_zone(user), now=now)
    return appointment


def visits_booked_between(*, doctor_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> list[BookedVisit]:
    """Visits of a doctor in a time range that a schedule change must not drop silently: every one
    that holds its slot (confirmed, under way, done or missed, and holds still being paid for,
    whose money may yet arrive)."""
    booked = (
        Appointment.objects.filter(doctor_id=doctor_id, slot__starts_at__lt=ends_at, slot__ends_at__gt=starts_at)
        .holding_slot(now=timezone.now())
        .select_related("patient", "slot")
        .order_by("slot__starts_at")
    )
    return [
        BookedVisit(
            starts_at=appointment.slot.starts_at,
            patient_name=appointment.patient.get_full_name() or appointment.patient.email,
            status_label=appointment.get_status_display(),
        )
        for appointment in booked
    ]


def next_hold_lapse(*, now: dt.datetime, slots: QuerySet[Slot]) -> dt.datetime | None:
    """When the first live payment hold on one of `slots` runs out, freeing its slot without a write."""
    return Appointment.objects.live_holds(now=now).filter(slot__in=slots).aggregate(at=Min("hold_expires_at"))["at"]


def appointment_calendar(*, user, pk: int, now: dt.datetime | None = None) -> bytes:
    """The .ics of one of the user's own visits, as its patient or its doctor reads it (ical
    explains the two); anybody else's, staff included, is a 404."""
    now = now or timezone.now()
    appointment = get_object_or_404(
        Appointment.objects.attended_by(user)
        .select_related("slot", "doctor__user", "doctor__specialty")
        .only(*ical.PATIENT_EVENT_FIELDS),
        pk=pk,
    )
    event = ical.doctor_event(appointment, now=now) if user.is_doctor else ical.patient_event(appointment, now=now)
    return ical.calendar_bytes([event])


@dataclass(frozen=True)
class CalendarFeedStatus:
    """A doctor's feed as their settings page shows it (the URL itself is never kept)."""

    created: timefmt.Shown
    last_fetched: timefmt.Shown | None


def calendar_feed_status(*, doctor) -> CalendarFeedStatus | None:
    feed = DoctorCalendarFeed.objects.filter(doctor=doctor).first()
    if feed is None:
        return None

    def at(moment: dt.datetime) -> timefmt.Shown:
        return timefmt.shown(moment, zone=doctor.timezone, viewer_zone="", style=timefmt.format_short)

    return CalendarFeedStatus(
        created=at(feed.created_at), last_fetched=at(feed.last_fetched_at) if feed.last_fetched_at else None
    )


def _in_doctors_feed(*, now: dt.datetime) -> Q:
    """Visits still to come or under way: a calendar drops the ones that leave the feed."""
    return Q(status=AppointmentStatus.CONFIRMED, slot__ends_at__gt=now) | Q(status=AppointmentStatus.IN_PROGRESS)


def calendar_feed(*, token: str, now: dt.datetime | None = None) -> tuple[int, bytes] | None:
    """The feed whose URL carries `token`, as (feed id, .ics), or None: an unknown or revoked
    token, or a doctor whose account is closed. Two queries however many visits it lists."""
    now = now or timezone.now()
    feed = (
        DoctorCalendarFeed.objects.filter(token_hash=DoctorCalendarFeed.hash_token(token), doctor__user__is_active=True)
        .values("pk", "doctor_id")
        .first()
    )
    if feed is None:
        return None
    appointments = (
        Appointment.objects.filter(_in_doctors_feed(now=now), doctor_id=feed["doctor_id"])
        .select_related("slot", "doctor")
        .only(*ical.DOCTOR_EVENT_FIELDS)
        .order_by("slot__starts_at", "pk")
    )
    events = [ical.doctor_event(appointment, now=now) for appointment in appointments]
    return feed["pk"], ical.calendar_bytes(events, name=f"{settings.HOSPITAL_NAME} appointments", is_feed=True)


# -- the doctor's appointment page -----------------------------------------------------------------

# Earlier appointments of the patient with the doctor that were visits, held or meant to be:
# not a hold, a lapsed hold or a canceled booking.
_VISIT_STATUSES = (
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.IN_PROGRESS,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)


@dataclass(frozen=True)
class EarlierVisit:
    """One line of "Earlier visits with you" on the doctor's page."""

    pk: int
    url: str
    day: str  # "2 Mar 2026", on the doctor's clock
    iso: str
    status: str
    status_label: str
    status_colour: str


@dataclass(frozen=True)
class OfferedAction:
    """A lifecycle button the page shows: only what `doctor_actions` allows right now."""

    action: DoctorAction
    label: str
    url: str


@dataclass(frozen=True)
class ShownAddendum:
    text: str
    author: str
    at: timefmt.Shown


@dataclass(frozen=True)
class DoctorVisit:
    """The appointment page as its own doctor reads it (`doctor_visit`)."""

    appointment: Appointment  # with `times` and `badges`, as on the patient's page
    patient_name: str
    age: int | None  # in years on the visit's day; None when no date of birth is on record
    born: str  # "17 May 1990", or ""
    is_paid: bool
    payment_label: str  # the payment's status as the doctor reads it, "" without a payment
    earlier: list[EarlierVisit]
    actions: list[OfferedAction]
    start_opens: str  # why "Start visit" is not offered yet (a confirmed visit), else ""
    note: VisitNote | None
    note_saved: timefmt.Shown | None  # the draft's last save, or the signature's moment
    addenda: list[ShownAddendum]

    @property
    def can_write_note(self) -> bool:
        return self.appointment.status == AppointmentStatus.IN_PROGRESS

    @property
    def complete_url(self) -> str:
        """Where the note form's "Sign note and complete visit" posts, when completing is open."""
        return next((offered.url for offered in self.actions if offered.action == DoctorAction.COMPLETE), "")

    @property
    def can_add_addendum(self) -> bool:
        return self.note is not None and self.note.is_signed


def age_on(born: dt.date, day: dt.date) -> int:
    """Whole years from `born` to `day` (born on 29 February: a year older on 1 March)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def doctor_visit(
    *, user, pk: int, payment_status_shown: PaymentStatusShown, now: dt.datetime | None = None
) -> DoctorVisit:
    """One of the doctor's own appointments as their page shows it; anyone else's is a 404.

    A fixed number of queries however long the patient's history: the appointment with its
    patient, profile, payment, note and whether it counts as paid; its timeline; the earlier
    visits; the note's addenda (only when there is a note)."""
    now = now or timezone.now()
    appointment = get_for_user_or_404(
        Appointment.objects.select_related(
            "doctor__user", "doctor__specialty", "slot", "payment", "patient__patient_profile", "visit_note__signed_by"
        )
        .annotate(counts_as_paid=Exists(Appointment.objects.filter(payment_facts.is_paid(), pk=OuterRef("pk"))))
        .prefetch_related("log_entries"),
        user=user,
        pk=pk,
    )
    zone = appointment.doctor.timezone
    starts_at = appointment.slot.starts_at
    payment = getattr(appointment, "payment", None)

    def at(moment: dt.datetime) -> timefmt.Shown:
        return timefmt.shown(moment, zone=zone, viewer_zone="", style=timefmt.format_short)

    appointment.times = replace(
        _times_of(
            status=appointment.status,
            starts_at=starts_at,
            ends_at=appointment.slot.ends_at,
            pay_by=None,
            zone=zone,
            viewer_zone="",
            now=now,
        ),
        booked=at(appointment.created_at),
        timeline=[(entry, at(entry.at)) for entry in appointment.log_entries.all()],
    )
    appointment.badges = _badges(
        status=appointment.status,
        payable=False,
        payment_status=payment.status if payment else None,
        payment_status_shown=payment_status_shown,
    )
    profile = getattr(appointment.patient, "patient_profile", None)
    born = profile.date_of_birth if profile else None
    note = getattr(appointment, "visit_note", None)
    with_visit_place(appointment, user=user, now=now)
    rule = {"status": appointment.status, "starts_at": starts_at, "is_paid": appointment.counts_as_paid, "now": now}
    action_url = reverse("appointments:visit_action", args=[appointment.pk, "ACTION"]).replace("ACTION", "{}")
    return DoctorVisit(
        appointment=appointment,
        patient_name=appointment.patient.get_full_name() or appointment.patient.email,
        age=age_on(born, timefmt.local(starts_at, zone).date()) if born else None,
        born=f"{born.day} {born:%B %Y}" if born else "",
        is_paid=appointment.counts_as_paid,
        payment_label=payment_status_shown(payment.status).label if payment else "",
        earlier=_earlier_visits(appointment),
        actions=[
            OfferedAction(action=action, label=action.label, url=action_url.format(action.value))
            for action in doctor_actions(**rule)
        ],
        start_opens=doctor_action_refusal(action=DoctorAction.START, zone=zone, **rule)
        if appointment.status == AppointmentStatus.CONFIRMED
        else "",
        note=note,
        note_saved=at(note.signed_at or note.updated_at) if note else None,
        addenda=[
            ShownAddendum(text=addendum.text, author=addendum.author.get_full_name(), at=at(addendum.signed_at))
            for addendum in VisitNoteAddendum.objects.filter(note=note).select_related("author")
        ]
        if note is not None and note.is_signed
        else [],
    )


def _earlier_visits(appointment: Appointment) -> list[EarlierVisit]:
    """The patient's visits with this appointment's doctor before it, latest first: never another
    doctor's, whose records this doctor does not reach."""
    zone = appointment.doctor.timezone
    detail_url = url_for_ids("appointments:detail")
    rows = (
        Appointment.objects.filter(
            patient_id=appointment.patient_id,
            doctor_id=appointment.doctor_id,
            status__in=_VISIT_STATUSES,
            slot__starts_at__lt=appointment.slot.starts_at,
        )
        .order_by("-slot__starts_at", "-pk")
        .values_list("pk", "status", "slot__starts_at")
    )
    return [
        EarlierVisit(
            pk=pk,
            url=detail_url(pk),
            day=timefmt.format_date(starts_at, zone),
            iso=timefmt.local(starts_at, zone).isoformat(),
            status=status,
            status_label=AppointmentStatus(status).label,
            status_colour=STATUS_COLOURS.get(status, "grey"),
        )
        for pk, status, starts_at in rows
    ]
