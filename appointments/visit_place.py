"""Where a visit takes place: in person (a site and a room) or by video (a room on the hospital's
video server, e.g. a self-hosted Jitsi at `VIDEO_BASE_URL`).

A doctor's settings say how new bookings take place; the booking copies them onto the appointment
(`snapshot`), as it does the fee, so a later change moves no visit already booked. The link to a
video call shows on the visit's pages from `VIDEO_LINK_OPENS_BEFORE` the start until its end.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings

from appointments.models import Appointment, AppointmentStatus
from hospital import timefmt
from hospital.models import Doctor, VisitType

VIDEO_LINK_OPENS_BEFORE = dt.timedelta(minutes=10)
# 128 random bits: the room's name is all it takes to join the call.
_VIDEO_ROOM_BYTES = 16


def snapshot(doctor: Doctor) -> dict[str, str]:
    """The appointment's place fields for a booking made now with `doctor`."""
    if doctor.visit_type == VisitType.VIDEO:
        # Lower-case hex: some video servers fold room names to lower case.
        return {"visit_type": VisitType.VIDEO, "video_room": secrets.token_hex(_VIDEO_ROOM_BYTES)}
    return {"visit_type": VisitType.IN_PERSON, "location_site": doctor.site, "location_room": doctor.room}


def location_text(*, site: str, room: str) -> str:
    """'Riverside Building, 1 Riverside Way, Room 2.14'"""
    return ", ".join(part for part in (site, room) if part)


def video_url(room: str) -> str:
    """The link to join a video room; empty when no video server is configured."""
    base = settings.VIDEO_BASE_URL
    return f"{base}/{room}" if base and room else ""


def video_link_is_open(*, status: str, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> bool:
    """From ten minutes before a confirmed visit's start until its end; a visit under way keeps
    its link until the doctor completes it, even if it runs over."""
    if status == AppointmentStatus.IN_PROGRESS:
        return True
    return status == AppointmentStatus.CONFIRMED and starts_at - VIDEO_LINK_OPENS_BEFORE <= now < ends_at


@dataclass(frozen=True)
class VisitPlace:
    """Where a visit takes place, as a page prints it (`appointments/includes/visit_place.html`).

    For a video visit, at most one of `video_url` (the link, while open), `video_opens` (when it
    will appear) and `note` (why there is no link) is set."""

    is_video: bool
    label: str  # "In person", "Video call"
    site: str = ""  # in person only
    room: str = ""  # in person, when the doctor gave one
    video_url: str = ""
    video_opens: timefmt.Shown | None = None
    opens_before: str = ""  # "10 minutes", beside `video_opens`
    note: str = ""


# A video visit whose link is still to come or open; any other status has no call to join.
_VIDEO_PENDING_OR_OPEN = (AppointmentStatus.PENDING_PAYMENT, AppointmentStatus.CONFIRMED, AppointmentStatus.IN_PROGRESS)
NO_VIDEO_SERVER_NOTE = "The hospital will send you the details to join the call."
ONLY_ATTENDEES_NOTE = "Only the patient and the doctor see the link."


def visit_place(
    *,
    visit_type: str,
    site: str,
    room: str,
    video_room: str,
    status: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    zone: str,
    viewer_zone: str,
    now: dt.datetime,
) -> VisitPlace:
    """A booked visit's place as its pages show it to the viewer at `now` (times in the doctor's
    `zone`, the viewer's own beside it where it differs)."""
    if visit_type != VisitType.VIDEO:
        return VisitPlace(is_video=False, label=VisitType.IN_PERSON.label, site=site, room=room)
    video = VisitPlace(is_video=True, label=VisitType.VIDEO.label)
    ended = status != AppointmentStatus.IN_PROGRESS and now >= ends_at
    if status not in _VIDEO_PENDING_OR_OPEN or ended:
        return video
    link = video_url(video_room)
    if not link:
        return VisitPlace(is_video=True, label=video.label, note=NO_VIDEO_SERVER_NOTE)
    if video_link_is_open(status=status, starts_at=starts_at, ends_at=ends_at, now=now):
        return VisitPlace(is_video=True, label=video.label, video_url=link)
    opens_at = starts_at - VIDEO_LINK_OPENS_BEFORE
    if now < opens_at:
        return VisitPlace(
            is_video=True,
            label=video.label,
            video_opens=timefmt.shown(opens_at, zone=zone, viewer_zone=viewer_zone),
            opens_before=_opens_before_words(),
        )
    return video  # an unpaid hold at the start: nothing to join


def appointment_place(appointment: Appointment, *, viewer_zone: str, now: dt.datetime) -> VisitPlace:
    """`visit_place` of an appointment read with its slot and doctor."""
    return visit_place(
        visit_type=appointment.visit_type,
        site=appointment.location_site,
        room=appointment.location_room,
        video_room=appointment.video_room,
        status=appointment.status,
        starts_at=appointment.slot.starts_at,
        ends_at=appointment.slot.ends_at,
        zone=appointment.doctor.timezone,
        viewer_zone=viewer_zone,
        now=now,
    )


def place_for_others(appointment: Appointment) -> VisitPlace:
    """The place as staff read it: a video call's link is for its patient and doctor only."""
    if appointment.visit_type == VisitType.VIDEO:
        return VisitPlace(is_video=True, label=VisitType.VIDEO.label, note=ONLY_ATTENDEES_NOTE)
    return VisitPlace(
        is_video=False, label=VisitType.IN_PERSON.label, site=appointment.location_site, room=appointment.location_room
    )


def offered_place(doctor: Doctor) -> VisitPlace:
    """Where a visit booked now with `doctor` would take place: the booking page's words."""
    if doctor.visit_type == VisitType.VIDEO:
        note = (
            f"The link to join appears on your appointment page {_opens_before_words()} before the start."
            if settings.VIDEO_BASE_URL
            else NO_VIDEO_SERVER_NOTE
        )
        return VisitPlace(is_video=True, label=VisitType.VIDEO.label, note=note)
    return VisitPlace(is_video=False, label=VisitType.IN_PERSON.label, site=doctor.site, room=doctor.room)


def place_words(appointment: Appointment) -> tuple[str, str]:
    """The place as the confirmation e-mail says it, and a note for a video visit (times in the
    doctor's zone: a worker's active zone is UTC)."""
    if appointment.visit_type != VisitType.VIDEO:
        return location_text(site=appointment.location_site, room=appointment.location_room), ""
    if not settings.VIDEO_BASE_URL:
        return VisitType.VIDEO.label, NO_VIDEO_SERVER_NOTE
    opens = timefmt.format_clock(appointment.slot.starts_at - VIDEO_LINK_OPENS_BEFORE, appointment.doctor.timezone)
    return (
        VisitType.VIDEO.label,
        f"The link to join appears on your appointment page from {opens}, {_opens_before_words()} before the start.",
    )


def _opens_before_words() -> str:
    return f"{int(VIDEO_LINK_OPENS_BEFORE.total_seconds() // 60)} minutes"
