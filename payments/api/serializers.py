"""Payments, refunds, receipts and credit notes as the API shows them.

Money is minor units and a currency; times are in the doctor's zone with its offset (the visit's
zone, as every API time), the zone named. Each `*_data` builds a row's dict once from objects the
selectors loaded; the serializers describe it for the schema. Statuses and messages are the
caller's words: a patient reads a dispute as "paid" or "refunded", and Stripe's own text (a
decline's developer message, a refund's rejection) is never shown.
"""

from django.urls import reverse
from rest_framework import serializers

from hospital.api.fields import Money, ZonedDateTime, in_zone, money
from hospital.models import Currency
from payments.models import CreditNote, Payment, PaymentStatus, Receipt, Refund, RefundReason, RefundStatus
from payments.patient_labels import payment_status_seen_by, refund_note_for_patient
from payments.receipt_documents import DocumentPage

# The most a refund column (a database integer) holds: a bigger amount is bad input, not a 500.
MAX_MINOR_UNITS = 2**31 - 1


class PaymentOut(serializers.Serializer):
    id = serializers.IntegerField()
    appointment = serializers.IntegerField(help_text="The appointment this payment is for.")
    amount = Money(help_text="The fee, as it was at booking.")
    captured = Money(help_text="What the card was charged (zero until paid).")
    refunded = Money(help_text="What has gone back, or is on its way back, to the card.")
    status = serializers.ChoiceField(
        choices=PaymentStatus.choices,
        help_text="As the caller reads it: a patient never sees a dispute's states (an open one reads 'paid').",
    )
    paid_at = ZonedDateTime(allow_null=True)
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which the times above are given.")
    receipt = serializers.IntegerField(allow_null=True, help_text="The receipt's id, once the payment has one.")
    last_failure = serializers.CharField(
        allow_null=True, help_text="Why the last card attempt failed, in plain words (never the bank's codes)."
    )


class PaymentDetailOut(PaymentOut):
    refundable = Money(allow_null=True, help_text="What billing staff may still refund; null for patients.")


def payment_data(payment: Payment, *, user) -> dict:
    """A payment loaded by `payments_seen_by` (its doctor and receipt with it), as `user` reads it."""
    zone = payment.appointment.doctor.timezone
    receipt = getattr(payment, "receipt", None)
    return {
        "id": payment.pk,
        "appointment": payment.appointment_id,
        "amount": money(payment.amount, payment.currency),
        "captured": money(payment.captured_amount, payment.currency),
        "refunded": money(payment.refunded_amount, payment.currency),
        "status": payment_status_seen_by(payment.status, user).value,
        "paid_at": in_zone(payment.paid_at, zone),
        "time_zone": zone,
        "receipt": receipt.pk if receipt else None,
        "last_failure": payment.last_failure_reason or None,
    }


class PaymentFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    currency = serializers.ChoiceField(choices=Currency.choices, required=False, help_text="ISO 4217 (usd, jpy).")

    def __init__(self, *args, statuses: list[PaymentStatus] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if statuses is not None:
            self.fields["status"].choices = [(status.value, status.label) for status in statuses]

    def to_internal_value(self, data):
        data = {name: data.get(name) for name in data}  # one value per query parameter
        if isinstance(data.get("currency"), str):
            data["currency"] = data["currency"].lower()  # JPY as well as jpy
        return super().to_internal_value(data)


class RefundOut(serializers.Serializer):
    id = serializers.IntegerField()
    payment = serializers.IntegerField()
    amount = Money()
    status = serializers.ChoiceField(choices=RefundStatus.choices, help_text="requested: not yet at Stripe.")
    reason = serializers.ChoiceField(choices=RefundReason.choices)
    note = serializers.CharField(
        allow_null=True, help_text="Why, in the words of the staff member who asked; null for patients."
    )
    outcome = serializers.CharField(
        allow_blank=True, help_text="What became of a refund that did not go through, in plain words; empty if none."
    )
    created_at = ZonedDateTime()
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which `created_at` is given.")


def refund_data(refund: Refund, *, zone: str, user) -> dict:
    return {
        "id": refund.pk,
        "payment": refund.payment_id,
        "amount": money(refund.amount, refund.currency),
        "status": refund.status,
        "reason": refund.reason,
        "note": None if user.is_patient else refund.note,
        "outcome": refund_note_for_patient(refund),
        "created_at": in_zone(refund.created_at, zone),
        "time_zone": zone,
    }


class RefundIn(serializers.Serializer):
    amount = serializers.IntegerField(
        min_value=1, max_value=MAX_MINOR_UNITS, help_text="In the payment currency's minor unit; at most what is left."
    )
    note = serializers.CharField(
        max_length=300,
        help_text="Who asked and why, for the payment's record (staff read it; the patient does not).",
        error_messages=dict.fromkeys(["required", "blank"], "Please say why the money is given back."),
    )


class DocumentLine(serializers.Serializer):
    description = serializers.CharField(help_text="Money words only: 'Consultation — Dr … — the visit's time'.")
    amount = Money()


class DocumentOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="R-2026-000123 or CN-2026-000045: gapless per year.")
    payment = serializers.IntegerField()
    appointment = serializers.IntegerField()
    patient_name = serializers.CharField()
    amount = Money()
    issued_at = ZonedDateTime()
    time_zone = serializers.CharField(help_text="The doctor's IANA zone, in which `issued_at` is given.")
    lines = DocumentLine(many=True)
    pdf = serializers.CharField(help_text="This document's PDF (the same file as the site's download).")


class ReceiptOut(DocumentOut):
    pass


class ReceiptBrief(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class CreditNoteOut(DocumentOut):
    credits_receipt = ReceiptBrief(help_text="The receipt this note credits.")
    refund = serializers.IntegerField()
    voided = serializers.BooleanField(help_text="The bank returned this refund: the money did not go back after all.")
    void_note = serializers.CharField(allow_blank=True)


def _document_data(document: Receipt | CreditNote, page: DocumentPage, *, pdf_route: str) -> dict:
    appointment = document.payment.appointment
    zone = appointment.doctor.timezone
    amount = money(document.amount, document.currency)
    return {
        "id": document.pk,
        "number": page.number,
        "payment": document.payment_id,
        "appointment": appointment.pk,
        "patient_name": page.patient_name,
        "amount": amount,
        "issued_at": in_zone(document.issued_at, zone),
        "time_zone": zone,
        "lines": [{"description": page.line, "amount": amount}],
        "pdf": reverse(pdf_route, args=[document.pk]),
    }


def receipt_data(receipt: Receipt, page: DocumentPage) -> dict:
    return _document_data(receipt, page, pdf_route="api:receipt_pdf")


def credit_note_data(note: CreditNote, page: DocumentPage) -> dict:
    receipt = note.payment.receipt
    return {
        **_document_data(note, page, pdf_route="api:credit_note_pdf"),
        "credits_receipt": {"id": receipt.pk, "number": receipt.display_number},
        "refund": note.refund_id,
        "voided": note.voided,
        "void_note": page.void_note,
    }
