from django.contrib import admin
from django.urls import include, path

from hospital import views

hospital_patterns = (
    [
        path("", views.home, name="home"),
        path("doctors/", views.doctor_list, name="doctor_list"),
        path("doctors/<int:pk>/", views.doctor_detail, name="doctor_detail"),
    ],
    "hospital",
)

# A path under /api/ that no route matches answers in the API's error shape, not an HTML page.
handler404 = "hospital.api.errors.not_found"
handler400 = "hospital.api.errors.bad_request"
handler500 = "hospital.api.errors.server_error"

admin.site.site_header = "Hospital administration"
admin.site.site_title = "Hospital admin"

urlpatterns = [
    path("", include(hospital_patterns)),
    path("accounts/", include("accounts.urls")),
    path("appointments/", include("appointments.urls")),
    path("portal/", include("appointments.portal.urls")),
    path("prescriptions/", include("prescriptions.urls")),
    path("payments/", include("payments.urls")),
    path("api/v1/", include("hospital.api.urls")),
    # dj-stripe's webhook endpoint: /stripe/webhook/<uuid>/ (see `manage.py stripe_webhook_setup`).
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path("admin/", admin.site.urls),
]
