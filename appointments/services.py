"""Every change to an appointment goes through here; the status field is never edited directly."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Role, User
from appointments import emails, visit_place
from appointments.locks import lock_appointment, lock_appointment_and_slot
from appointments.models import (
    ACTIVE_STATUSES,
    REVIEW_COMMENT_MAX_LENGTH,
    Appointment,
    AppointmentLogEntry,
    AppointmentStatus,
    CancelReason,
    DoctorCalendarFeed,
    Review,
    VisitNote,
    VisitNoteAddendum,
)
from appointments.payment_facts import appointment_is_paid
from appointments.visit_actions import DoctorAction, doctor_action_refusal
from hospital import timefmt
from hospital.audit import audit_record
from hospital.locks import lock_doctor_for_move, lock_patient, lock_slot
from hospital.models import AuditAction, Doctor, OutboundEmail, Rating, Slot, booking_cutoff, booking_cutoff_words
from hospital.money_log import log_money_change
from hospital.services import doctor_rating_add

S = AppointmentStatus

# The whole status machine (DESIGN §3). CANCELED → CONFIRMED exists only for a payment that
# arrives after the patient canceled an unpaid hold (see payments.services.reconcile, late payment).
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.CONFIRMED, S.EXPIRED, S.CANCELED},
    S.EXPIRED: {S.CONFIRMED},
    S.CANCELED: {S.CONFIRMED},
    S.CONFIRMED: {S.IN_PROGRESS, S.NO_SHOW, S.CANCELED},
    S.IN_PROGRESS: {S.COMPLETED},
    S.COMPLETED: set(),
    S.NO_SHOW: set(),
}

# The doctor's own moves through the machine: the status each action leads to and the timeline's
# line for it. When each is open is appointments.visit_actions' rule.
DOCTOR_ACTION_TRANSITIONS: dict[DoctorAction, tuple[str, str]] = {
    DoctorAction.START: (S.IN_PROGRESS, "The doctor started the visit."),
    DoctorAction.COMPLETE: (S.COMPLETED, "The doctor completed the visit and signed the visit note."),
    DoctorAction.NO_SHOW: (S.NO_SHOW, "The doctor marked the patient as a no-show."),
}


class BookingError(Exception):
    """A booking or change that cannot be done; the message is written for the patient."""

    def __init__(self, message: str, *, appointment: Appointment | None = None):
        super().__init__(message)
        self.appointment = appointment


class AppointmentTransitionError(BookingError):
    pass


def appointment_transition(
    *, appointment: Appointment, to: str, message: str, now: dt.datetime | None = None, cancel_reason: str = ""
) -> None:
    """Move a locked appointment to `to`, or raise if the status machine forbids it."""
    if to not in ALLOWED_TRANSITIONS[appointment.status]:
        raise AppointmentTransitionError(
            f"An appointment that is {appointment.get_status_display().lower()} cannot become {S(to).label.lower()}."
        )
    old = appointment.status
    appointment.status = to
    appointment.cancel_reason = cancel_reason if to == S.CANCELED else ""
    appointment.save(update_fields=["status", "cancel_reason", "updated_at"])
    log_money_change("appointment", appointment.pk, old=old, new=to, cancel_reason=appointment.cancel_reason)
    appointment_log(appointment=appointment, message=message, now=now)


def appointment_log(*, appointment: Appointment, message: str, now: dt.datetime | None = None) -> None:
    AppointmentLogEntry.objects.create(
        appointment=appointment, at=now or timezone.now(), status=appointment.status, message=message[:300]
    )


def appointment_expire(
    *, appointment: Appointment, message: str, now: dt.datetime | None = None, tell_patient: bool = True
) -> None:
    """End a locked appointment's unpaid hold, and tell the patient so (once: an expired visit
    never expires again). Every path to EXPIRED comes through here.

    A payment that arrives later still confirms the visit if the slot is free (the confirmation
    e-mail follows this one); `tell_patient=False` is for the caller that already holds the money
    and sends its own e-mail about it in the same transaction."""
    appointment_transition(appointment=appointment, to=S.EXPIRED, message=message, now=now)
    if tell_patient:
        emails.hold_expired_email_queue(appointment)


def slot_expire_lapsed_holds(*, slot: Slot, now: dt.datetime) -> None:
    """Holds expire lazily: whoever next wants the (locked) slot ends a lapsed hold first, so
    nothing ever waits for a scheduler to have run."""
    for stale in slot.appointments.select_for_update().filter(status=S.PENDING_PAYMENT, hold_expires_at__lte=now):
        appointment_expire(appointment=stale, message="The hold lapsed before payment.", now=now)


def slot_is_bookable(*, slot: Slot, now: dt.datetime) -> bool:
    """Ahead, not blocked by staff, and its doctor listed (holds aside)."""
    return slot.starts_at > now and not slot.is_blocked and slot.doctor.is_active


def slot_is_held_by_other(*, appointment: Appointment, now: dt.datetime) -> bool:
    return (
        Appointment.objects.filter(slot_id=appointment.slot_id)
        .exclude(pk=appointment.pk)
        .holding_slot(now=now)
        .exists()
    )


def appointment_hold(
    *, patient: User, slot_id: int, reason: str, hold_expires_at: dt.datetime, now: dt.datetime | None = None
) -> Appointment:
    """Hold a slot for a patient until `hold_expires_at`: a new appointment awaiting payment.

    Runs inside the caller's transaction (payments.services.appointment_book, which opens the
    payment beside it): the slot's lock must last until both are written.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("appointment_hold must run inside the transaction that also opens the payment.")
    now = now or timezone.now()
    if patient.role != Role.PATIENT:
        raise BookingError("Only patients can book appointments. Please sign in with a patient account.")
    try:
        slot = lock_slot(slot_id)
    except Slot.DoesNotExist:
        raise BookingError("This time slot no longer exists. Please choose another time.") from None
    slot_expire_lapsed_holds(slot=slot, now=now)
    if slot.starts_at <= now:
        raise BookingError("This time has already passed. Please choose a later slot.")
    if slot.starts_at - booking_cutoff() <= now:
        raise BookingError(
            f"Online booking for this time has closed: it closes {booking_cutoff_words()} before the start. "
            "Please choose a later time."
        )
    if not slot_is_bookable(slot=slot, now=now):
        raise BookingError("This time slot is not available for booking. Please choose another time.")
    holder = slot.appointments.filter(status__in=ACTIVE_STATUSES).first()
    if holder is not None:
        if holder.patient_id == patient.pk and holder.status == S.PENDING_PAYMENT:
            raise BookingError("You are already holding this slot; finish paying for it here.", appointment=holder)
        raise BookingError("Sorry, someone has just booked this time. Please choose another slot.")
    lock_patient(patient.pk)
    live_holds = Appointment.objects.filter(patient=patient).live_holds(now=now).count()
    if live_holds >= settings.MAX_UNPAID_HOLDS:
        raise BookingError(
            f"You already have {live_holds} bookings waiting for payment. "
            "Pay for or cancel one of them before booking another."
        )
    appointment = Appointment.objects.create(
        patient=patient,
        doctor=slot.doctor,
        slot=slot,
        status=S.PENDING_PAYMENT,
        # Never past the start, whatever the caller asked for: nobody pays for a visit under way.
        hold_expires_at=min(hold_expires_at, slot.starts_at),
        fee_amount=slot.doctor.fee_amount,
        fee_currency=slot.doctor.fee_currency,
        reason=reason.strip(),
        **visit_place.snapshot(slot.doctor),
    )
    appointment_log(appointment=appointment, message="Booked; the slot is held while you pay.", now=now)
    log_money_change("appointment", appointment.pk, old="", new=appointment.status, slot_id=slot.pk)
    return appointment


def appointment_cancel_hold(*, appointment_id: int, now: dt.datetime | None = None) -> Appointment:
    """End an unpaid hold at the patient's request (its Checkout Session is already expired)."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = lock_appointment(appointment_id)
        if appointment.status == S.EXPIRED:
            return appointment  # its payment page expired meanwhile: the slot is released already
        if appointment.status != S.PENDING_PAYMENT:
            raise AppointmentTransitionError(
                f"This appointment is {appointment.get_status_display().lower()}; there is no hold to cancel."
            )
        appointment_transition(
            appointment=appointment,
            to=S.CANCELED,
            message="You canceled the booking before paying; the slot was released.",
            cancel_reason=CancelReason.HOLD_CANCELED,
            now=now,
        )
    return appointment


def appointment_move(
    *,
    appointment_id: int,
    slot_id: int,
    message: str,
    now: dt.datetime | None = None,
    may_move: Callable[[Appointment], None] | None = None,
) -> tuple[Appointment, Slot]:
    """Move a confirmed visit to another free slot of its doctor, in one transaction: the new slot
    taken under its lock, the old one freed; returns the appointment and the slot it left.
    `message` is the timeline's line, with `{old}` and `{new}` for the two times.

    Nothing else changes (fee, payment, policy copy, place): `may_move` is the caller's own rule,
    run under the locks on the locked appointment, raising BookingError to refuse. Locks: the
    doctor's schedule, both slots in primary-key order, the appointment (hospital/locks.py). The
    partial unique index on the slot over active statuses still stops a double booking if a rule
    here were ever wrong.
    """
    now = now or timezone.now()
    with transaction.atomic():
        doctor_id = Appointment.objects.values_list("doctor_id", flat=True).get(pk=appointment_id)
        lock_doctor_for_move(doctor_id)
        appointment, slot = lock_appointment_and_slot(appointment_id, slot_id)
        if slot is None or slot.doctor_id != appointment.doctor_id:
            raise BookingError("Please choose one of this doctor's free times.")
        if appointment.status != S.CONFIRMED:
            raise AppointmentTransitionError(
                f"An appointment that is {appointment.get_status_display().lower()} cannot be moved."
            )
        if may_move is not None:
            may_move(appointment)
        if slot.pk == appointment.slot_id:
            raise BookingError("Your appointment is at this time already. Please choose another time.")
        slot_expire_lapsed_holds(slot=slot, now=now)
        if slot.starts_at - booking_cutoff() <= now or not slot_is_bookable(slot=slot, now=now):
            raise BookingError("This time is not available. Please choose another time.")
        if slot.appointments.holding_slot(now=now).exists():
            raise BookingError("Sorry, someone has just booked this time. Please choose another one.")
        old_slot = appointment.slot
        appointment.slot = slot
        appointment.save(update_fields=["slot", "updated_at"])
        zone = appointment.doctor.timezone
        appointment_log(
            appointment=appointment,
            message=message.format(
                old=timefmt.format_short(old_slot.starts_at, zone), new=timefmt.format_short(slot.starts_at, zone)
            ),
            now=now,
        )
    return appointment, old_slot


def appointments_expire_lapsed_holds(*, now: dt.datetime | None = None) -> int:
    """Tidy-up for the periodic sweeper: nothing depends on it having run."""
    now = now or timezone.now()
    expired = 0
    for appointment_id in Appointment.objects.filter(status=S.PENDING_PAYMENT, hold_expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        expired += appointment_expire_lapsed_hold(appointment_id=appointment_id, now=now)
    return expired


# A visit booked closer to its start than this was confirmed moments ago: its confirmation is its reminder.
REMINDER_AHEAD = dt.timedelta(hours=24)


def appointment_reminders_queue(*, now: dt.datetime | None = None) -> list[Appointment]:
    """Queue the reminder of every confirmed visit starting within the next 24 hours that has
    none yet, skipping visits booked less than 24 hours before their start. Returns the visits
    reminded now; running it again queues nothing new (each reminder has its key)."""
    now = now or timezone.now()
    due = Appointment.objects.filter(
        status=S.CONFIRMED,
        slot__starts_at__gt=now,
        slot__starts_at__lte=now + REMINDER_AHEAD,
        created_at__lte=F("slot__starts_at") - REMINDER_AHEAD,
    ).select_related("slot")
    sent = set(
        OutboundEmail.objects.filter(key__in=[emails.reminder_key(visit) for visit in due]).values_list(
            "key", flat=True
        )
    )
    reminded = []
    for visit_id in [visit.pk for visit in due if emails.reminder_key(visit) not in sent]:
        with transaction.atomic():
            # Locked, so a cancel or a move committed meanwhile is seen: no reminder of a visit gone.
            appointment = lock_appointment(visit_id)
            if appointment.status == S.CONFIRMED and now < appointment.slot.starts_at <= now + REMINDER_AHEAD:
                emails.reminder_email_queue(appointment)
                reminded.append(appointment)
    return reminded


def appointment_expire_lapsed_hold(*, appointment_id: int, now: dt.datetime) -> bool:
    """End one hold if it is still awaiting payment and has lapsed; whether it did."""
    with transaction.atomic():
        appointment = lock_appointment(appointment_id)
        if appointment.status != S.PENDING_PAYMENT or appointment.hold_expires_at > now:
            return False
        appointment_expire(appointment=appointment, message="The hold lapsed before payment.", now=now)
    return True


class ReviewError(Exception):
    """A rating that cannot be accepted; the message is written for the patient."""


ALREADY_RATED = "You have already rated this visit. Thank you!"


def review_submit(*, patient: User, appointment_id: int, rating: int, comment: str) -> Review:
    """The patient's rating (1–5) of their own completed, paid visit, once, with the doctor's
    totals updated in the same transaction.

    Someone else's appointment is `Appointment.DoesNotExist`, as an unknown id is. No appointment
    lock: nothing about the appointment changes, and the review's unique appointment makes a
    second rating sent at once (a double click, two tabs) wait for the first and then fail, which
    is told as the same plain message as a later second rating.
    """
    comment = comment.strip()
    if rating not in Rating.values:
        raise ReviewError(f"Choose a rating from {min(Rating.values)} to {max(Rating.values)}.")
    if len(comment) > REVIEW_COMMENT_MAX_LENGTH:
        raise ReviewError(f"Please keep the comment to {REVIEW_COMMENT_MAX_LENGTH} characters.")
    with transaction.atomic():
        appointment = Appointment.objects.get(pk=appointment_id, patient=patient)
        if appointment.status != AppointmentStatus.COMPLETED:
            raise ReviewError("You can rate a visit once it has taken place and the doctor has completed it.")
        if not appointment_is_paid(appointment.pk):
            raise ReviewError("Only a visit that was paid for can be rated.")
        if Review.objects.filter(appointment=appointment).exists():
            raise ReviewError(ALREADY_RATED)
        try:
            with transaction.atomic():  # a savepoint: the check below still runs after a refused insert
                review = Review.objects.create(appointment=appointment, rating=rating, comment=comment)
        except IntegrityError:
            if Review.objects.filter(appointment=appointment).exists():  # rated by a request running beside this one
                raise ReviewError(ALREADY_RATED) from None
            raise
        doctor_rating_add(doctor_id=appointment.doctor_id, rating=rating)
    return review


# A calendar app that polls every few minutes records its visit this often, not on every fetch.
FEED_FETCH_RECORDED_EVERY = dt.timedelta(minutes=10)


def calendar_feed_issue(*, doctor: Doctor, now: dt.datetime | None = None) -> str:
    """A new secret token for the doctor's calendar feed URL, returned once and kept only as a
    hash. It replaces any earlier token, whose URL stops working at once."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        DoctorCalendarFeed.objects.update_or_create(
            doctor=doctor,
            defaults={
                "token_hash": DoctorCalendarFeed.hash_token(token),
                "created_at": now or timezone.now(),
                "last_fetched_at": None,
            },
        )
    return token


def calendar_feed_revoke(*, doctor: Doctor) -> bool:
    """Turn the doctor's feed off: its URL answers 404 from now on. False if there was none."""
    with transaction.atomic():
        deleted, _ = DoctorCalendarFeed.objects.filter(doctor=doctor).delete()
    return bool(deleted)


def calendar_feed_record_fetch(*, feed_id: int, now: dt.datetime | None = None) -> None:
    """Note when a calendar app last fetched the feed (the doctor's page shows it): one UPDATE,
    which writes only when the last note is older than FEED_FETCH_RECORDED_EVERY."""
    now = now or timezone.now()
    DoctorCalendarFeed.objects.filter(
        Q(last_fetched_at__isnull=True) | Q(last_fetched_at__lt=now - FEED_FETCH_RECORDED_EVERY), pk=feed_id
    ).update(last_fetched_at=now)


class VisitNoteRefused(Exception):
    """A note or addendum that cannot be written now; the message is written for the doctor."""


def _lock_doctors_visit(*, appointment_id: int, doctor: User) -> Appointment:
    """Lock the appointment for its own doctor. Anyone else's is not found, exactly as an id that
    does not exist: the caller answers 404 for both."""
    appointment = lock_appointment(appointment_id)
    if appointment.slot.doctor.user_id != doctor.pk:
        raise Appointment.DoesNotExist("No appointment of this doctor has this id.")
    return appointment


def _doctor_act(
    *, action: DoctorAction, appointment_id: int, doctor: User, now: dt.datetime | None
) -> tuple[Appointment, dt.datetime]:
    """Lock the visit and move it by `action`, or raise with the reason it is not open now.
    Runs inside the caller's transaction: the lock makes a second click wait, then see the first's
    result and be refused."""
    now = now or timezone.now()
    appointment = _lock_doctors_visit(appointment_id=appointment_id, doctor=doctor)
    refusal = doctor_action_refusal(
        action=action,
        status=appointment.status,
        starts_at=appointment.slot.starts_at,
        is_paid=appointment_is_paid(appointment.pk),
        now=now,
        zone=appointment.slot.doctor.timezone,
    )
    if refusal:
        raise AppointmentTransitionError(refusal)
    to, message = DOCTOR_ACTION_TRANSITIONS[action]
    appointment_transition(appointment=appointment, to=to, message=message, now=now)
    return appointment, now


def appointment_start(*, appointment_id: int, doctor: User, now: dt.datetime | None = None) -> Appointment:
    """The doctor opens a confirmed, paid visit (from a little before its start); its note opens."""
    with transaction.atomic():
        appointment, _ = _doctor_act(action=DoctorAction.START, appointment_id=appointment_id, doctor=doctor, now=now)
    return appointment


def appointment_mark_no_show(*, appointment_id: int, doctor: User, now: dt.datetime | None = None) -> Appointment:
    """The patient did not come: only once the visit's time has begun."""
    with transaction.atomic():
        appointment, _ = _doctor_act(action=DoctorAction.NO_SHOW, appointment_id=appointment_id, doctor=doctor, now=now)
    return appointment


def appointment_complete(
    *,
    appointment_id: int,
    doctor: User,
    note_text: str | None = None,
    now: dt.datetime | None = None,
    ip: str | None = None,
) -> Appointment:
    """The doctor ends a visit under way, signing its note in the same transaction: from then on
    the note is final and corrections are addenda. `note_text`, when given, is the draft's last
    words (the note form's "Sign and complete" button), saved before the signature; a visit
    completed without a note gets an empty signed one, so addenda can always follow."""
    with transaction.atomic():
        appointment, now = _doctor_act(
            action=DoctorAction.COMPLETE, appointment_id=appointment_id, doctor=doctor, now=now
        )
        note = VisitNote.objects.filter(appointment=appointment).first()
        if note is None:
            note = VisitNote(appointment=appointment, text="", created_at=now)
        if note_text is not None:
            note.text = note_text.strip()
        note.updated_at = note.signed_at = now
        note.signed_by = doctor
        note.save()
        audit_record(
            actor=doctor,
            action=AuditAction.SIGN,
            record=note,
            patient=appointment.patient,
            ip=ip,
            summary="Signed the visit note on completing the visit.",
        )
    return appointment


def visit_note_save_draft(
    *, appointment_id: int, doctor: User, text: str, now: dt.datetime | None = None, ip: str | None = None
) -> VisitNote:
    """Save the draft note of a visit in progress (creating it on the first save)."""
    now = now or timezone.now()
    text = text.strip()
    with transaction.atomic():
        appointment = _lock_doctors_visit(appointment_id=appointment_id, doctor=doctor)
        if appointment.status == S.COMPLETED:
            raise VisitNoteRefused("This visit's note is signed and cannot change. Add an addendum to correct it.")
        if appointment.status != S.IN_PROGRESS:
            raise VisitNoteRefused(
                "You can write the visit note while the visit is in progress. Start the visit first."
            )
        note = VisitNote.objects.filter(appointment=appointment).first()
        if note is not None and note.text == text:
            return note  # nothing changed: nothing written, nothing to record
        action = AuditAction.UPDATE if note is not None else AuditAction.CREATE
        if note is None:
            note = VisitNote(appointment=appointment, created_at=now)
        note.text = text
        note.updated_at = now
        note.save()
        audit_record(
            actor=doctor,
            action=action,
            record=note,
            patient=appointment.patient,
            ip=ip,
            summary="Saved the draft note.",
        )
    return note


def visit_note_add_addendum(
    *, appointment_id: int, doctor: User, text: str, now: dt.datetime | None = None, ip: str | None = None
) -> VisitNoteAddendum:
    """A dated correction or addition to a visit's signed note, signed by the doctor who writes it."""
    now = now or timezone.now()
    text = text.strip()
    if not text:
        raise VisitNoteRefused("Write the addendum before adding it.")
    with transaction.atomic():
        appointment = _lock_doctors_visit(appointment_id=appointment_id, doctor=doctor)
        note = VisitNote.objects.filter(appointment=appointment, signed_at__isnull=False).first()
        if note is None:
            raise VisitNoteRefused(
                "Addenda correct a signed note: this visit has none yet. It is signed when the visit completes."
            )
        addendum = VisitNoteAddendum.objects.create(note=note, author=doctor, text=text, signed_at=now)
        audit_record(
            actor=doctor,
            action=AuditAction.CREATE,
            record=addendum,
            patient=appointment.patient,
            ip=ip,
            summary="Signed an addendum to the visit note.",
        )
    return addendum


def visit_record_doctor_read(
    *,
    doctor: User,
    appointment: Appointment,
    note: VisitNote | None,
    addenda: int,
    ip: str | None,
    where: str = "on the appointment page",
) -> None:
    """The doctor opened their appointment page (or the API's view of the visit, `where` says
    which): their view of the patient's history (details and earlier visits with them) is
    recorded, and the note's reading when the page shows one."""
    with transaction.atomic():
        audit_record(
            actor=doctor,
            action=AuditAction.READ,
            record=appointment,
            patient=appointment.patient,
            ip=ip,
            summary=f"Read the patient's details and earlier visits with this doctor {where}.",
        )
        if note is not None:
            visit_note_record_read(
                doctor=doctor, appointment=appointment, note=note, addenda=addenda, ip=ip, where=where
            )


def visit_note_record_read(
    *, doctor: User, appointment: Appointment, note: VisitNote, addenda: int, ip: str | None, where: str
) -> None:
    """The doctor read the visit's note (a draft, or signed with its addenda)."""
    state = f"signed, with {addenda} addend{'um' if addenda == 1 else 'a'}" if note.is_signed else "draft"
    audit_record(
        actor=doctor,
        action=AuditAction.READ,
        record=note,
        patient=appointment.patient,
        ip=ip,
        summary=f"Read the visit note ({state}) {where}.",
    )
