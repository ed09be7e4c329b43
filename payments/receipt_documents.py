"""Receipts and credit notes as people read them: who may open one, what its page and PDF print.

Every document is reached through a scoped lookup: the paying patient and billing staff (the
Billing group; superusers count as in it) see it, anyone else, a doctor included, gets the 404 a
missing one gets. The page and the PDF print one `DocumentPage`, computed here once: the issue
date on the hospital's clock, the visit on the doctor's clock with the zone named. Only money
words: "Consultation", the doctor, the date, never the reason for the visit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse

from accounts.models import StaffGroup
from hospital import timefmt
from hospital.money import format_money
from hospital.pdf import pdf_from_template
from payments.models import CreditNote, NumberedDocument, Payment, Receipt

_PAYMENT_PARTIES = ("payment__appointment__patient", "payment__appointment__doctor__user", "payment__appointment__slot")


@dataclass(frozen=True)
class DocumentLink:
    """A receipt or credit note as the appointment page lists it."""

    label: str  # "Receipt R-2026-000001"
    url: str
    pdf_url: str
    voided: bool


@dataclass(frozen=True)
class DocumentPage:
    title: str  # "Receipt" / "Credit note"
    number: str  # "R-2026-000001"
    issued_iso: str
    issued_on: str  # "Wednesday 2 December 2026", the hospital's date
    patient_name: str
    line: str  # "Consultation — Dr Ana Ruiz — Tuesday 2 June 2026, 08:00 JST (Asia/Tokyo)"
    amount: str  # "$25.00"
    currency: str  # "USD"
    payment_words: str  # "Paid by card"
    credits_number: str  # the receipt a credit note credits; empty on a receipt
    credits_url: str
    void_note: str  # why a credit note no longer stands; empty while it does
    booking_number: int
    booking_url: str
    pdf_url: str
    pdf_filename: str


def _visible_to(queryset: QuerySet, user) -> QuerySet:
    if user.is_authenticated and user.in_staff_group(StaffGroup.BILLING):
        return queryset
    if user.is_authenticated and user.is_patient:
        return queryset.filter(payment__appointment__patient=user)
    return queryset.none()


def _receipts() -> QuerySet[Receipt]:
    return Receipt.objects.select_related(*_PAYMENT_PARTIES)


def _credit_notes() -> QuerySet[CreditNote]:
    return CreditNote.objects.select_related("refund", "payment__receipt", *_PAYMENT_PARTIES)


def _one(queryset: QuerySet, pk: int) -> NumberedDocument:
    document = queryset.filter(pk=pk).first()
    if document is None:
        raise Http404("No such document.")
    return document


def receipt_page(*, user, pk: int) -> DocumentPage:
    """A receipt its viewer may read; anyone else's is a 404."""
    return _receipt_page(_one(_visible_to(_receipts(), user), pk))


def credit_note_page(*, user, pk: int) -> DocumentPage:
    """A credit note its viewer may read; anyone else's is a 404."""
    return _credit_note_page(_one(_visible_to(_credit_notes(), user), pk))


def sees_documents(user) -> bool:
    """Whether `user` may read any receipt or credit note at all (a patient their own; billing all)."""
    return user.is_authenticated and (user.is_patient or user.in_staff_group(StaffGroup.BILLING))


def receipts_seen_by(*, user) -> QuerySet[Receipt]:
    """The receipts `user` may read, newest number first; one query a page (`receipt_shown` reads
    only what this loads)."""
    return _visible_to(_receipts(), user).order_by("-year", "-number")


def credit_notes_seen_by(*, user) -> QuerySet[CreditNote]:
    return _visible_to(_credit_notes(), user).order_by("-year", "-number")


def receipt_seen_by(*, user, pk: int) -> Receipt:
    """A receipt its viewer may read; anyone else's is a 404."""
    return _one(_visible_to(_receipts(), user), pk)


def credit_note_seen_by(*, user, pk: int) -> CreditNote:
    return _one(_visible_to(_credit_notes(), user), pk)


def receipt_shown(receipt: Receipt) -> DocumentPage:
    """What the receipt's page prints, from a receipt loaded by the lookups above (no query)."""
    return _receipt_page(receipt)


def credit_note_shown(note: CreditNote) -> DocumentPage:
    return _credit_note_page(note)


def receipt_pdf(receipt_id: int) -> bytes:
    """The receipt's PDF, for whoever already may have it (the confirmation e-mail to its patient)."""
    return document_pdf(_receipt_page(_one(_receipts(), receipt_id)))


def credit_note_pdf(credit_note_id: int) -> bytes:
    return document_pdf(_credit_note_page(_one(_credit_notes(), credit_note_id)))


def document_pdf(page: DocumentPage) -> bytes:
    return pdf_from_template("payments/document_pdf.html", {"doc": page})


def payment_documents_for(*, user, payment: Payment | None) -> list[DocumentLink]:
    """The receipt and credit notes of a payment, for its appointment page: empty for anyone who
    may not open them. Two queries however many credit notes."""
    receipt = _visible_to(Receipt.objects.filter(payment=payment), user).first() if payment else None
    if receipt is None:
        return []
    links = [_link("Receipt", receipt, "payments:receipt", voided=False)]
    for note in CreditNote.objects.filter(payment=payment).select_related("refund").order_by("year", "number"):
        links.append(_link("Credit note", note, "payments:credit_note", voided=note.voided))
    return links


def _link(kind: str, document: NumberedDocument, route: str, *, voided: bool) -> DocumentLink:
    return DocumentLink(
        label=f"{kind} {document.display_number}",
        url=reverse(route, args=[document.pk]),
        pdf_url=reverse(f"{route}_pdf", args=[document.pk]),
        voided=voided,
    )


def _page(document: NumberedDocument, *, title: str, route: str, payment_words: str, **extra) -> DocumentPage:
    appointment = document.payment.appointment
    doctor = appointment.doctor
    patient = appointment.patient
    visit = timefmt.format_when(appointment.slot.starts_at, doctor.timezone)
    return DocumentPage(
        title=title,
        number=document.display_number,
        issued_iso=document.issued_at.isoformat(),
        issued_on=timefmt.format_day(document.issued_at, settings.HOSPITAL_TIME_ZONE),
        patient_name=patient.get_full_name() or patient.email,
        line=f"Consultation — {doctor.display_name} — {visit}",
        amount=format_money(document.amount, document.currency),
        currency=document.currency.upper(),
        payment_words=payment_words,
        booking_number=appointment.pk,
        booking_url=reverse("appointments:detail", args=[appointment.pk]),
        pdf_url=reverse(f"{route}_pdf", args=[document.pk]),
        pdf_filename=f"{document.display_number}.pdf",
        **{"credits_number": "", "credits_url": "", "void_note": "", **extra},
    )


def _receipt_page(receipt: Receipt) -> DocumentPage:
    return _page(receipt, title="Receipt", route="payments:receipt", payment_words="Paid by card")


def _credit_note_page(note: CreditNote) -> DocumentPage:
    receipt = note.payment.receipt
    return _page(
        note,
        title="Credit note",
        route="payments:credit_note",
        payment_words="Refunded to the card it was paid by",
        credits_number=receipt.display_number,
        credits_url=reverse("payments:receipt", args=[receipt.pk]),
        void_note=(
            "Void: the bank returned this refund, so this money did not go back to the card. "
            "A refund issued again gets a credit note of its own."
        )
        if note.voided
        else "",
    )
