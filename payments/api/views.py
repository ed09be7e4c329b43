"""Payments, refunds, receipts and credit notes for API clients.

The reads are the pages' scoped lookups: a patient's own, everything for billing staff, and a 404
for anyone else's (never a 403: that would say it exists). A role that can never read them (a
doctor; front desk for payments) gets a 403. A refund goes through `payment_refund`, the service
the appointment page's money panel and the admin's refund form call; its refusal is a 409 with
its words.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from hospital.api import idempotency
from hospital.api.errors import refused_as_conflict
from hospital.api.fields import money
from hospital.api.paths import id_in_path, path_id
from hospital.api.schema import AutoSchema, error
from payments import receipt_documents
from payments import services as payments
from payments.api.serializers import (
    CreditNoteOut,
    PaymentDetailOut,
    PaymentFilter,
    PaymentOut,
    ReceiptOut,
    RefundIn,
    RefundOut,
    credit_note_data,
    payment_data,
    receipt_data,
    refund_data,
)
from payments.models import REFUND_PERMISSION
from payments.patient_labels import PATIENT_PAYMENT_STATUSES
from payments.selectors import payment_refunds, payment_seen_by, payments_seen_by, refundable_amount, sees_payments

ID_IN_PATH = id_in_path("pk", "The object's id.")
BAD_ID = error(400, "The id in the path is not a whole number (or the filters are not valid).")


class SeesPayments(BasePermission):
    message = "Only patients and billing staff can read payments."

    def has_permission(self, request, view) -> bool:
        return sees_payments(request.user)


class MayRefund(BasePermission):
    """Giving money back: billing staff and administrators, as the admin's refund action."""

    message = "Only billing staff can refund a payment."

    def has_permission(self, request, view) -> bool:
        return request.method != "POST" or request.user.has_perm(REFUND_PERMISSION)


class SeesDocuments(BasePermission):
    message = "Only patients and billing staff can read receipts and credit notes."

    def has_permission(self, request, view) -> bool:
        return receipt_documents.sees_documents(request.user)


# -- payments ------------------------------------------------------------------------------------


class PaymentList(generics.GenericAPIView):
    permission_classes = [IsAuthenticated, SeesPayments]
    serializer_class = PaymentOut

    @extend_schema(parameters=[PaymentFilter], responses={200: PaymentOut(many=True), 400: BAD_ID})
    def get(self, request):
        """The caller's payments (a patient's own; every payment for billing staff), newest first."""
        user = request.user
        asked = PaymentFilter(data=request.query_params, statuses=PATIENT_PAYMENT_STATUSES if user.is_patient else None)
        asked.is_valid(raise_exception=True)
        page = self.paginate_queryset(payments_seen_by(user=user, **asked.validated_data))
        return self.get_paginated_response([payment_data(payment, user=user) for payment in page])


class PaymentDetail(generics.GenericAPIView):
    permission_classes = [IsAuthenticated, SeesPayments]
    serializer_class = PaymentDetailOut

    @extend_schema(parameters=[ID_IN_PATH], responses={200: PaymentDetailOut, 400: BAD_ID})
    def get(self, request, pk: str):
        """One payment, with what is left to refund (for staff)."""
        user = request.user
        payment = payment_seen_by(user=user, pk=path_id(pk))
        refundable = None if user.is_patient else refundable_amount(payment)
        return Response(
            {
                **payment_data(payment, user=user),
                "refundable": None if refundable is None else money(refundable, payment.currency),
            }
        )


class PaymentRefunds(generics.GenericAPIView):
    permission_classes = [IsAuthenticated, SeesPayments, MayRefund]
    serializer_class = RefundOut

    @extend_schema(parameters=[ID_IN_PATH], responses={200: RefundOut(many=True), 400: BAD_ID})
    def get(self, request, pk: str):
        """A payment's refunds, oldest first: ours (asked for by staff or a cancellation) and Stripe's."""
        payment = payment_seen_by(user=request.user, pk=path_id(pk))
        zone = payment.appointment.doctor.timezone
        page = self.paginate_queryset(payment_refunds(payment=payment))
        return self.get_paginated_response([refund_data(refund, zone=zone, user=request.user) for refund in page])

    @extend_schema(
        parameters=[ID_IN_PATH, idempotency.PARAMETER],
        request=RefundIn,
        responses={
            201: RefundOut,
            409: error(409, "Not refundable: more than is left, nothing left, or the visit changed a moment ago."),
            422: error(422),
        },
    )
    def post(self, request, pk: str):
        """Billing staff give back part or all of a payment, saying why; it is sent to Stripe after commit.
        With an Idempotency-Key, a retried request gives the first answer and refunds nothing more."""
        payment = payment_seen_by(user=request.user, pk=path_id(pk))
        asked = RefundIn(data=request.data)
        asked.is_valid(raise_exception=True)
        return idempotency.once_per_key(self, request, lambda: self._refund(request, payment, asked.validated_data))

    def _refund(self, request, payment, asked: dict) -> Response:
        with refused_as_conflict(payments.RefundRefused):
            refund = payments.payment_refund(
                payment_id=payment.pk,
                amount=asked["amount"],
                note=asked["note"],
                by=request.user,
            )
        data = refund_data(refund, zone=payment.appointment.doctor.timezone, user=request.user)
        return Response(data, status=status.HTTP_201_CREATED)


# -- receipts and credit notes -----------------------------------------------------------------


class PdfRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class PdfAlways(BaseContentNegotiation):
    """A download is a PDF whatever the client's Accept header says (an error is JSON, below)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PdfDownloadSchema(AutoSchema):
    """The errors of a download are the API's JSON; its 200 is declared as a PDF on the view."""

    def map_renderers(self, attribute):
        return [getattr(JSONRenderer, attribute)]


class _DocumentPdf(generics.GenericAPIView):
    """A document's PDF: the file the site's download gives, behind the same scoped lookup."""

    permission_classes = [IsAuthenticated, SeesDocuments]
    renderer_classes = [PdfRenderer]
    content_negotiation_class = PdfAlways
    schema = PdfDownloadSchema()
    page_for = staticmethod(receipt_documents.receipt_page)

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):
            # An error keeps the API's one shape, in JSON, whatever the client accepts.
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def get(self, request, pk: str):
        shown = self.page_for(user=request.user, pk=path_id(pk))
        return HttpResponse(
            receipt_documents.document_pdf(shown),
            content_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{shown.pdf_filename}"'},
        )


PDF_SCHEMA = extend_schema(
    parameters=[ID_IN_PATH], responses={(200, "application/pdf"): OpenApiTypes.BINARY, 400: BAD_ID}
)


class ReceiptList(generics.GenericAPIView):
    permission_classes = [IsAuthenticated, SeesDocuments]
    serializer_class = ReceiptOut

    @extend_schema(responses=ReceiptOut(many=True))
    def get(self, request):
        """The caller's receipts (a patient's own; all for billing staff), newest number first."""
        page = self.paginate_queryset(receipt_documents.receipts_seen_by(user=request.user))
        return self.get_paginated_response(
            [receipt_data(receipt, receipt_documents.receipt_shown(receipt)) for receipt in page]
        )


class ReceiptDetail(generics.GenericAPIView):
    permission_classes = [IsAuthenticated, SeesDocuments]
    serializer_class = ReceiptOut

    @extend_schema(parameters=[ID_IN_PATH], responses={200: ReceiptOut, 400: BAD_ID})
    def get(self, request, pk: str):
        """One receipt: its number, amount, issue time and line, as its page prints them."""
        receipt = receipt_documents.receipt_seen_by(user=request.user, pk=path_id(pk))
        return Response(receipt_data(receipt, receipt_documents.receipt_shown(receipt)))


class ReceiptPdf(_DocumentPdf):
    page_for = staticmethod(receipt_documents.receipt_page)

    @PDF_SCHEMA
    def get(self, request, pk: str):
        """The receipt's PDF, as the site's download gives it."""
        return super().get(request, pk)


class CreditNoteList(generics.GenericAPIView):
    permission_classes = [IsAuthenticated, SeesDocuments]
    serializer_class = CreditNoteOut

    @extend_schema(responses=CreditNoteOut(many=True))
    def get(self, request):
        """The caller's credit notes (a patient's own; all for billing staff), newest number first."""
        page = self.paginate_queryset(receipt_documents.credit_notes_seen_by(user=request.user))
        return self.get_paginated_response(
            [credit_note_data(note, receipt_documents.credit_note_shown(note)) for note in page]
        )


class CreditNoteDetail(generics.GenericAPIView):
    permission_classes = [IsAuthenticated, SeesDocuments]
    serializer_class = CreditNoteOut

    @extend_schema(parameters=[ID_IN_PATH], responses={200: CreditNoteOut, 400: BAD_ID})
    def get(self, request, pk: str):
        """One credit note: the refund it records, the receipt it credits, and whether it was voided."""
        note = receipt_documents.credit_note_seen_by(user=request.user, pk=path_id(pk))
        return Response(credit_note_data(note, receipt_documents.credit_note_shown(note)))


class CreditNotePdf(_DocumentPdf):
    page_for = staticmethod(receipt_documents.credit_note_page)

    @PDF_SCHEMA
    def get(self, request, pk: str):
        """The credit note's PDF, as the site's download gives it."""
        return super().get(request, pk)
