"""Reads of prescriptions as the pages print them: each display value computed once per row here
(times on the doctor's clock, named; labels; URLs from one `reverse`), never in a template loop."""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.urls import reverse

from accounts.access import get_for_user_or_404
from accounts.models import Role, User
from appointments.models import Appointment
from appointments.payment_facts import appointment_is_paid
from hospital import timefmt
from hospital.selectors import url_for_ids
from prescriptions.models import ITEM_FIELDS, VERIFICATION_CODE_LENGTH, Prescription, PrescriptionItem
from prescriptions.rules import issue_refusal


@dataclass(frozen=True)
class Status:
    label: str  # "Current" or "Superseded"
    colour: str  # a badge colour of site.css


CURRENT = Status("Current", "green")
SUPERSEDED = Status("Superseded", "grey")


def _status(is_superseded: bool) -> Status:
    return SUPERSEDED if is_superseded else CURRENT


# -- the list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrescriptionRow:
    """One row of a list of prescriptions (My prescriptions, an appointment's section)."""

    pk: int
    number: str
    detail_url: str
    pdf_url: str
    issued_iso: str
    issued_day: str  # "2 Dec 2026", on the doctor's clock
    other_party: str  # the doctor for a patient, the patient for a doctor
    doctor_name: str  # "Dr Kenji Sato"
    patient_name: str
    zone: str  # the doctor's, in which `issued_iso` is given
    item_count: int
    status: Status


_ROW_FIELDS = (
    "pk", "number", "issued_at", "doctor__timezone", "doctor__user__first_name", "doctor__user__last_name",
    "patient__first_name", "patient__last_name", "is_superseded", "item_count",
)  # fmt: skip


def prescription_rows(prescriptions: QuerySet[Prescription], *, viewer: User) -> list[PrescriptionRow]:
    """The rows of `prescriptions` (one page of them), in one query."""
    detail_url, pdf_url = url_for_ids("prescriptions:detail"), url_for_ids("prescriptions:pdf")
    values = prescriptions.with_superseded().annotate(item_count=Count("items")).values(*_ROW_FIELDS)
    rows = []
    for row in values:
        doctor_name = f"Dr {row['doctor__user__first_name']} {row['doctor__user__last_name']}"
        patient_name = f"{row['patient__first_name']} {row['patient__last_name']}".strip()
        rows.append(
            PrescriptionRow(
                pk=row["pk"],
                number=row["number"],
                detail_url=detail_url(row["pk"]),
                pdf_url=pdf_url(row["pk"]),
                issued_iso=timefmt.local(row["issued_at"], row["doctor__timezone"]).isoformat(),
                issued_day=timefmt.format_date(row["issued_at"], row["doctor__timezone"]),
                other_party=patient_name if viewer.role == Role.DOCTOR else doctor_name,
                doctor_name=doctor_name,
                patient_name=patient_name,
                zone=row["doctor__timezone"],
                item_count=row["item_count"],
                status=_status(row["is_superseded"]),
            )
        )
    return rows


def prescriptions_for_user(*, user: User) -> QuerySet[Prescription]:
    """What My prescriptions lists: newest first."""
    return Prescription.objects.visible_to(user).order_by("-issued_at", "-pk")


# -- an appointment's section --------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentPrescriptions:
    """What `prescriptions/includes/appointment_section.html` prints on an appointment's page."""

    shown: bool  # False for viewers who do not read prescriptions here (staff: the admin)
    rows: list[PrescriptionRow]
    write_url: str  # "Write prescription", when the viewer may write one now
    correct_url: str  # "Write a correction" of the current one, when the viewer may
    refusal: str  # for the visit's doctor: why no prescription can be written yet

    @property
    def current(self) -> PrescriptionRow | None:
        """The version in force: the one no correction replaced."""
        return _current(self.rows)


def _current(rows: list[PrescriptionRow]) -> PrescriptionRow | None:
    return next((row for row in rows if row.status is CURRENT), None)


def prescriptions_for_appointment(*, appointment: Appointment, user: User) -> AppointmentPrescriptions:
    """The visit's prescriptions the user may read, and whether they may write one. One query
    for the rows, and for the visit's own doctor one more to ask whether it is paid (give the
    appointment with its doctor selected, or reading it costs one more)."""
    if user.role not in (Role.DOCTOR, Role.PATIENT):
        return AppointmentPrescriptions(shown=False, rows=[], write_url="", correct_url="", refusal="")
    rows = prescription_rows(
        Prescription.objects.visible_to(user).filter(appointment=appointment).order_by("-issued_at", "-pk"),
        viewer=user,
    )
    write_url = correct_url = refusal = ""
    if user.role == Role.DOCTOR and appointment.doctor.user_id == user.pk:
        refusal = issue_refusal(appointment=appointment, doctor_user=user, is_paid=appointment_is_paid(appointment.pk))
        current = _current(rows)
        if not refusal and current is None:
            write_url = reverse("prescriptions:write", args=[appointment.pk])
        elif not refusal:
            correct_url = reverse("prescriptions:correct", args=[current.pk])
    return AppointmentPrescriptions(
        shown=True, rows=rows, write_url=write_url, correct_url=correct_url, refusal=refusal
    )


# -- one prescription ----------------------------------------------------------------------


@dataclass(frozen=True)
class ItemShown:
    position: int
    medicine: str
    strength: str
    dose: str
    route: str  # its label: "By mouth"
    frequency: str
    duration: str
    quantity: int
    instructions: str


@dataclass(frozen=True)
class Link:
    number: str
    url: str


@dataclass(frozen=True)
class PrescriptionPage:
    """One prescription as its page and its PDF print it."""

    prescription: Prescription  # for the audit entry; the page prints the fields below
    pk: int
    number: str
    verification_code: str  # grouped: "7KQ2-M9XD-4HTR"
    status: Status
    issued_iso: str
    zone: str  # the doctor's, in which every time here is told: "Asia/Tokyo"
    issued_when: str  # "Wednesday 2 December 2026, 10:00 JST (Asia/Tokyo)"
    issued_short: str  # "2 Dec 2026, 10:00 JST"
    visit_when: str
    visit_short: str
    visit_url: str  # the appointment's page, which its doctor and its patient both read
    doctor_name: str
    specialty: str
    patient_name: str
    patient_date_of_birth: str  # "17 May 1990", or ""
    items: list[ItemShown]
    general_advice: str
    follow_up: str  # "Friday 11 December 2026", or ""
    supersedes: Link | None
    superseded_by: Link | None
    pdf_url: str
    correct_url: str  # for the visit's doctor, while this is the current version and the visit allows it


def prescription_page(*, user: User, pk: int) -> PrescriptionPage:
    """One prescription the user may read; anyone else's is a 404. Two queries: the prescription
    with its people, visit and neighbours in history, then its items (and, for its doctor, whether
    the visit is paid, to offer a correction)."""
    prescription = get_for_user_or_404(
        Prescription.objects.select_related(
            "doctor__user",
            "doctor__specialty",
            "patient__patient_profile",
            "appointment__slot",
            "supersedes",
            "superseded_by",
        ).prefetch_related("items"),
        user=user,
        pk=pk,
    )
    return _page(prescription, user=user)


def _page(prescription: Prescription, *, user: User) -> PrescriptionPage:
    zone = prescription.doctor.timezone
    detail_url = url_for_ids("prescriptions:detail")
    superseded_by = getattr(prescription, "superseded_by", None)
    if superseded_by is not None and superseded_by.issued_at is None:
        superseded_by = None
    correct_url = ""
    if superseded_by is None and prescription.doctor.user_id == user.pk:
        appointment = prescription.appointment
        appointment.doctor = prescription.doctor
        if not issue_refusal(appointment=appointment, doctor_user=user, is_paid=appointment_is_paid(appointment.pk)):
            correct_url = reverse("prescriptions:correct", args=[prescription.pk])
    profile = getattr(prescription.patient, "patient_profile", None)
    return PrescriptionPage(
        prescription=prescription,
        pk=prescription.pk,
        number=prescription.number,
        verification_code=prescription.verification_code_display,
        status=_status(superseded_by is not None),
        issued_iso=timefmt.local(prescription.issued_at, zone).isoformat(),
        zone=zone,
        issued_when=timefmt.format_when(prescription.issued_at, zone),
        issued_short=timefmt.format_short(prescription.issued_at, zone),
        visit_when=timefmt.format_when(prescription.appointment.slot.starts_at, zone),
        visit_short=timefmt.format_short(prescription.appointment.slot.starts_at, zone),
        visit_url=reverse("appointments:detail", args=[prescription.appointment_id]),
        doctor_name=prescription.doctor.display_name,
        specialty=prescription.doctor.specialty.name,
        patient_name=prescription.patient.get_full_name(),
        patient_date_of_birth=(
            f"{profile.date_of_birth.day} {profile.date_of_birth:%B %Y}" if profile is not None else ""
        ),
        items=[_item(item) for item in prescription.items.all()],
        general_advice=prescription.general_advice,
        follow_up=(
            f"{prescription.follow_up_on:%A} {prescription.follow_up_on.day} {prescription.follow_up_on:%B %Y}"
            if prescription.follow_up_on
            else ""
        ),
        supersedes=(
            Link(prescription.supersedes.number, detail_url(prescription.supersedes_id))
            if prescription.supersedes_id
            else None
        ),
        superseded_by=Link(superseded_by.number, detail_url(superseded_by.pk)) if superseded_by else None,
        pdf_url=reverse("prescriptions:pdf", args=[prescription.pk]),
        correct_url=correct_url,
    )


def _item(item: PrescriptionItem) -> ItemShown:
    return ItemShown(
        position=item.position,
        medicine=item.medicine,
        strength=item.strength,
        dose=item.dose,
        route=item.get_route_display(),
        frequency=item.frequency,
        duration=item.duration,
        quantity=item.quantity,
        instructions=item.instructions,
    )


def correction_initial(page: PrescriptionPage) -> tuple[dict, list[dict]]:
    """The write form's starting values for a correction: the prescription as it stands."""
    prescription = page.prescription
    return (
        {"general_advice": prescription.general_advice, "follow_up_on": prescription.follow_up_on},
        [{name: getattr(item, name) for name in ITEM_FIELDS} for item in prescription.items.all()],
    )


# -- the public verification page ----------------------------------------------------------


class Verdict(enum.StrEnum):
    VALID = "valid"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"


def prescription_verdict(*, number: str, code: str) -> Verdict:
    """ "valid", "superseded" or "unknown" for a number and verification code as printed. A wrong
    code reads exactly as an unknown number: the page confirms nothing without both."""
    found = (
        Prescription.objects.issued()
        .with_superseded()
        .filter(number=number)
        .values("verification_code", "is_superseded")
        .first()
    )
    # The code is compared in constant time, and a dummy one when the number is unknown, so the
    # answer's timing does not tell a guessed code's characters apart.
    stored = found["verification_code"] if found else "0" * VERIFICATION_CODE_LENGTH
    if not hmac.compare_digest(stored.encode(), code.encode()) or found is None:
        return Verdict.UNKNOWN
    return Verdict.SUPERSEDED if found["is_superseded"] else Verdict.VALID
