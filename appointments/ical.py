"""Appointments as iCalendar (RFC 5545), with the `icalendar` package.

Two readings of one visit, under one stable UID so a calendar that has both merges them:

- the patient's (`patient_event`): their doctor, the place and, for a video visit, the link;
- the doctor's (`doctor_event`), which is also what the doctor's calendar feed lists: times, the
  place and the booking number, never the patient's name or reason for the visit. Doctors put
  these in calendar services outside the hospital, which poll and keep whatever they are given;
  a video visit's link stays out too (knowing it is enough to join the call).

Times carry the doctor's zone (TZID, with its VTIMEZONE), so calendars show the visit where it
happens and convert it for the reader; DTSTAMP is UTC, as the RFC requires.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable

from django.conf import settings
from icalendar import Calendar, Event, Timezone, vDuration

from appointments.models import Appointment, AppointmentStatus
from appointments.visit_place import NO_VIDEO_SERVER_NOTE, VIDEO_LINK_OPENS_BEFORE, location_text, video_url
from hospital.models import VisitType
from hospital.notifications import Attachment, mail_domain

CONTENT_TYPE = "text/calendar; charset=utf-8"
# How often calendar apps are asked to fetch a feed again (they may choose to wait longer).
FEED_REFRESH = dt.timedelta(hours=1)

_STATUS = {
    AppointmentStatus.PENDING_PAYMENT: "TENTATIVE",
    AppointmentStatus.CANCELED: "CANCELLED",
    AppointmentStatus.EXPIRED: "CANCELLED",
}

# What the events read of an appointment (with its slot and doctor): selectors load only these.
DOCTOR_EVENT_FIELDS = (
    "status",
    "visit_type",
    "location_site",
    "location_room",
    "updated_at",
    "slot__starts_at",
    "slot__ends_at",
    "doctor__timezone",
)
PATIENT_EVENT_FIELDS = (
    *DOCTOR_EVENT_FIELDS,
    "video_room",
    "doctor__user__first_name",
    "doctor__user__last_name",
    "doctor__specialty__name",
)


def appointment_uid(appointment_id: int) -> str:
    """Stable for the appointment's life: a calendar importing it again updates, not duplicates."""
    return f"appointment-{appointment_id}@{mail_domain()}"


def ics_filename(appointment_id: int) -> str:
    return f"appointment-{appointment_id}.ics"


def _event(appointment: Appointment, *, summary: str, location: str, description: str, now: dt.datetime) -> Event:
    zone = zoneinfo.ZoneInfo(appointment.doctor.timezone)
    event = Event.new(
        uid=appointment_uid(appointment.pk),
        stamp=now.astimezone(dt.UTC),
        start=appointment.slot.starts_at.astimezone(zone),
        end=appointment.slot.ends_at.astimezone(zone),
        summary=summary,
        location=location,
        description=description,
        status=_STATUS.get(appointment.status, "CONFIRMED"),
        last_modified=appointment.updated_at.astimezone(dt.UTC),
    )
    return event


def patient_event(appointment: Appointment, *, now: dt.datetime) -> Event:
    """The patient's own copy of their visit (the .ics they download and the one their
    confirmation e-mail attaches)."""
    doctor = appointment.doctor
    booking = f"Booking #{appointment.pk} at {settings.HOSPITAL_NAME}."
    if appointment.visit_type == VisitType.VIDEO:
        link = video_url(appointment.video_room)
        location = link or VisitType.VIDEO.label
        minutes = int(VIDEO_LINK_OPENS_BEFORE.total_seconds() // 60)
        how = (
            f"Video call: join at {link} from {minutes} minutes before the start."
            if link
            else f"Video call. {NO_VIDEO_SERVER_NOTE}"
        )
    else:
        location = location_text(site=appointment.location_site, room=appointment.location_room)
        how = f"In person: {location}."
    return _event(
        appointment,
        summary=f"Appointment with {doctor.display_name} ({doctor.specialty.name})",
        location=location,
        description=f"{booking}\n{how}",
        now=now,
    )


def patient_attachment(appointment: Appointment, *, now: dt.datetime) -> Attachment:
    """The patient's .ics for an e-mail (confirmed, moved): one UID for the visit's life, so a
    calendar updates the event it already has."""
    return Attachment(
        filename=ics_filename(appointment.pk),
        content=calendar_bytes([patient_event(appointment, now=now)]).decode(),
        mimetype="text/calendar",
    )


def doctor_event(appointment: Appointment, *, now: dt.datetime) -> Event:
    """The doctor's copy: nothing that names the patient or says why they come."""
    reference = f"booking #{appointment.pk}"
    if appointment.visit_type == VisitType.VIDEO:
        summary, location = f"Video appointment, {reference}", VisitType.VIDEO.label
        where = "Video call: the link to join is on the appointment's page in the hospital's portal."
    else:
        summary = f"Appointment, {reference}"
        location = location_text(site=appointment.location_site, room=appointment.location_room)
        where = f"In person: {location}."
    event = _event(
        appointment,
        summary=summary,
        location=location,
        description=f"{where}\nThe patient's details are in the hospital's portal, not in this calendar.",
        now=now,
    )
    event.add("class", "PRIVATE")
    return event


def calendar_bytes(events: Iterable[Event], *, name: str = "", is_feed: bool = False) -> bytes:
    """An iCalendar file holding `events`, with the VTIMEZONE of every zone they use."""
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.HOSPITAL_NAME}//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.calendar_name = name
    if is_feed:
        # RFC 7986 wants the value type named; X-PUBLISHED-TTL is what Outlook reads.
        calendar.add("refresh-interval", vDuration(FEED_REFRESH), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    events = list(events)
    for event in events:
        calendar.add_component(event)
    if events:
        first = _month_start(min(event.start for event in events).date() - dt.timedelta(days=1))
        last = _month_start(max(event.end for event in events).date() + dt.timedelta(days=32))
        # VTIMEZONEs before the events that name them, as RFC 5545 readers expect.
        for position, tzid in enumerate(sorted(calendar.get_missing_tzids())):
            calendar.subcomponents.insert(position, _timezone(tzid, first, last))
    return calendar.to_ical()


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


@functools.lru_cache(maxsize=512)
def _timezone(tzid: str, first_date: dt.date, last_date: dt.date) -> Timezone:
    """A zone's rules only around the events (the whole 1970-2038 history weighs kilobytes),
    over whole months so that one component serves every calendar of those months.

    Cached: icalendar searches for the zone's transitions day range by day range, and a zone with
    no daylight saving (Asia/Tokyo) makes it walk to year 9999, ~14 ms per call, which every
    confirmation e-mail paid. Shared read-only: serialising a calendar does not change it."""
    return Timezone.from_tzid(tzid, first_date=first_date, last_date=last_date)
