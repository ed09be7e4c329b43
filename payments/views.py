"""Receipt and credit-note pages, HTML and PDF: the paying patient's and billing staff's only."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.access import role_required
from accounts.models import Role
from payments import receipt_documents
from payments.receipt_documents import DocumentPage

# Anyone signed in may ask; the scoped lookups answer 404 to all but the patient and billing.
signed_in = role_required(*Role)


def _page(request, page: DocumentPage) -> HttpResponse:
    return render(request, "payments/document.html", {"doc": page})


def _pdf(page: DocumentPage) -> HttpResponse:
    return HttpResponse(
        receipt_documents.document_pdf(page),
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{page.pdf_filename}"'},
    )


@signed_in
@never_cache
@require_GET
def receipt_detail(request, pk: int):
    return _page(request, receipt_documents.receipt_page(user=request.user, pk=pk))


@signed_in
@never_cache
@require_GET
def receipt_pdf_download(request, pk: int):
    return _pdf(receipt_documents.receipt_page(user=request.user, pk=pk))


@signed_in
@never_cache
@require_GET
def credit_note_detail(request, pk: int):
    return _page(request, receipt_documents.credit_note_page(user=request.user, pk=pk))


@signed_in
@never_cache
@require_GET
def credit_note_pdf_download(request, pk: int):
    return _pdf(receipt_documents.credit_note_page(user=request.user, pk=pk))
