from django.urls import path

from payments.api import views

# Ids are matched as any path segment and parsed by the view: one that is no number is a 400 in
# the API's error shape, not the site's 404 page.
urlpatterns = [
    path("payments/", views.PaymentList.as_view(), name="payments"),
    path("payments/<str:pk>/", views.PaymentDetail.as_view(), name="payment"),
    path("payments/<str:pk>/refunds/", views.PaymentRefunds.as_view(), name="payment_refunds"),
    path("receipts/", views.ReceiptList.as_view(), name="receipts"),
    path("receipts/<str:pk>/", views.ReceiptDetail.as_view(), name="receipt"),
    path("receipts/<str:pk>/pdf/", views.ReceiptPdf.as_view(), name="receipt_pdf"),
    path("credit-notes/", views.CreditNoteList.as_view(), name="credit_notes"),
    path("credit-notes/<str:pk>/", views.CreditNoteDetail.as_view(), name="credit_note"),
    path("credit-notes/<str:pk>/pdf/", views.CreditNotePdf.as_view(), name="credit_note_pdf"),
]
