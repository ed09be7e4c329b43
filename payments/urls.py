from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("receipts/<int:pk>/", views.receipt_detail, name="receipt"),
    path("receipts/<int:pk>.pdf", views.receipt_pdf_download, name="receipt_pdf"),
    path("credit-notes/<int:pk>/", views.credit_note_detail, name="credit_note"),
    path("credit-notes/<int:pk>.pdf", views.credit_note_pdf_download, name="credit_note_pdf"),
]
