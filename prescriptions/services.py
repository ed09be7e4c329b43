"""Every write of a prescription: issuing one (a first one or a correction) and recording who
read or downloaded it."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from appointments.locks import lock_appointment
from appointments.models import Appointment
from appointments.payment_facts import appointment_is_paid
from hospital import timefmt
from hospital.audit import audit_record
from hospital.models import AuditAction, Doctor
from prescriptions.models import (
    ITEM_FIELDS,
    VERIFICATION_ALPHABET,
    VERIFICATION_CODE_LENGTH,
    Prescription,
    PrescriptionItem,
    PrescriptionNumberSequence,
)
from prescriptions.rules import earliest_follow_up, issue_refusal

MAX_ITEMS = 20


class PrescriptionError(Exception):
    """A prescription that cannot be issued; the message is written for the doctor. `existing` is
    the prescription that stands in the way, when that is the reason (a double submit)."""

    def __init__(self, message: str, *, existing: Prescription | None = None):
        super().__init__(message)
        self.existing = existing


def prescription_issue(
    *,
    doctor_user: User,
    appointment_id: int,
    items: Sequence[Mapping[str, object]],
    general_advice: str,
    follow_up_on: dt.date | None,
    supersedes_id: int | None = None,
    ip: str | None,
    now: dt.datetime | None = None,
) -> Prescription:
    """Issue a prescription for a completed, paid visit, by that visit's doctor; with
    `supersedes_id`, as the correction of that (current) prescription of the same visit.

    A visit has one original prescription; a second one is refused unless it corrects the current
    one, so a form submitted twice issues once. The appointment's lock makes two submits queue, and
    the second sees the first's prescription (the database's unique constraints hold it too)."""
    now = now or timezone.now()
    if not items:
        raise PrescriptionError("Add at least one medicine to the prescription.")
    if len(items) > MAX_ITEMS:
        raise PrescriptionError(f"A prescription holds at most {MAX_ITEMS} medicines.")
    with transaction.atomic():
        try:
            appointment = lock_appointment(appointment_id)
        except Appointment.DoesNotExist:
            raise PrescriptionError("This visit does not exist.") from None
        appointment.doctor = doctor = Doctor.objects.select_related("user").get(pk=appointment.doctor_id)
        refusal = issue_refusal(
            appointment=appointment, doctor_user=doctor_user, is_paid=appointment_is_paid(appointment.pk)
        )
        if refusal:
            raise PrescriptionError(refusal)
        if follow_up_on is not None and follow_up_on < earliest_follow_up(zone=doctor.timezone, now=now):
            raise PrescriptionError("The follow-up date is in the past: choose today or a later day.")
        supersedes = _check_place_in_history(appointment=appointment, supersedes_id=supersedes_id)
        rows = [_item(position, fields) for position, fields in enumerate(items, start=1)]

        issued_on = timefmt.local(now, doctor.timezone).date()
        prescription = Prescription(
            appointment=appointment,
            doctor=doctor,
            patient_id=appointment.patient_id,
            number=_next_number(year=issued_on.year),
            verification_code="".join(secrets.choice(VERIFICATION_ALPHABET) for _ in range(VERIFICATION_CODE_LENGTH)),
            general_advice=general_advice.strip(),
            follow_up_on=follow_up_on,
            issued_on=issued_on,
            supersedes=supersedes,
        )
        # Written as a draft, its items added, then issued: from here on neither changes.
        prescription.save()
        for row in rows:
            row.prescription = prescription
        PrescriptionItem.objects.bulk_create(rows)
        prescription.issued_at = now
        prescription.save(update_fields=["issued_at"])
        audit_record(
            actor=doctor_user,
            action=AuditAction.CREATE,
            record=prescription,
            patient=appointment.patient,
            ip=ip,
            summary=f"Issued {prescription.number}"
            + (f", correcting {supersedes.number}" if supersedes else "")
            + f" ({len(rows)} item{'s' if len(rows) != 1 else ''})",
        )
    return prescription


def _check_place_in_history(*, appointment: Appointment, supersedes_id: int | None) -> Prescription | None:
    """The prescription being corrected, or None for a visit's first; refused when the visit has
    one already (first) or the one being corrected is not the visit's current one."""
    issued = Prescription.objects.issued().filter(appointment=appointment)
    current = issued.filter(superseded_by__isnull=True).first()
    if supersedes_id is None:
        if current is not None:
            raise PrescriptionError(
                f"Prescription {current.number} was already issued for this visit. "
                "To change it, write a correction of it.",
                existing=current,
            )
        return None
    corrected = issued.filter(pk=supersedes_id).first()
    if corrected is None:
        raise PrescriptionError("The prescription to correct is not one of this visit's.")
    if current is not None and corrected.pk != current.pk:
        raise PrescriptionError(
            f"Prescription {corrected.number} has already been corrected by {current.number}. "
            "Only the current version can be corrected.",
            existing=current,
        )
    return corrected


def _item(position: int, fields: Mapping[str, object]) -> PrescriptionItem:
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(f"Unknown item fields: {sorted(unknown)}")
    item = PrescriptionItem(position=position, **{name: fields.get(name, "") for name in ITEM_FIELDS})
    for name in ITEM_FIELDS:
        if isinstance(getattr(item, name), str):
            setattr(item, name, getattr(item, name).strip())
    try:
        item.full_clean(exclude=["prescription"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        problems = "; ".join(
            f"{PrescriptionItem._meta.get_field(name).verbose_name}: {' '.join(messages)}"
            for name, messages in exc.message_dict.items()
        )
        raise PrescriptionError(f"Medicine {position}: {problems}") from None
    return item


def _next_number(*, year: int) -> str:
    """'RX-2026-000123': the year's next number. The year's row stays locked until the issue
    commits (after the appointment's lock, the last in the order of hospital/locks.py), so two
    doctors never get one number, and a refused issue never took one."""
    sequence, _ = PrescriptionNumberSequence.objects.select_for_update().get_or_create(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"RX-{year}-{sequence.last_number:06d}"


def prescription_access_record(*, prescription: Prescription, user: User, downloaded: bool, ip: str | None) -> None:
    """Who read a prescription, or downloaded its PDF (DESIGN §7: every read of medical data)."""
    audit_record(
        actor=user,
        action=AuditAction.DOWNLOAD if downloaded else AuditAction.READ,
        record=prescription,
        patient=prescription.patient,
        ip=ip,
        summary=f"{'Downloaded the PDF of' if downloaded else 'Read'} {prescription.number}",
    )
