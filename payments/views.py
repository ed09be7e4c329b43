"""Receipt and credit-note pages, HTML and PDF: the paying patient's and billing staff's only."""

from collections.abc import Callable

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


def _document_views(page_for: Callable[..., DocumentPage]) -> tuple[Callable, Callable]:
    """The HTML page and the PDF download of one kind of document, both behind its scoped lookup."""

    @signed_in
    @never_cache
    @require_GET
    def page(request, pk: int):
        return render(request, "payments/document.html", {"doc": page_for(user=request.user, pk=pk)})

    @signed_in
    @never_cache
    @require_GET
    def pdf(request, pk: int):
        shown = page_for(user=request.user, pk=pk)
        return HttpResponse(
            receipt_documents.document_pdf(shown),
            content_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{shown.pdf_filename}"'},
        )

    return page, pdf


receipt_detail, receipt_pdf_download = _document_views(receipt_documents.receipt_page)
credit_note_detail, credit_note_pdf_download = _document_views(receipt_documents.credit_note_page)
