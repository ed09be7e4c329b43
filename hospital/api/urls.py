"""/api/v1/: each app's endpoints, the schema and its documentation pages."""

from django.urls import include, path

from hospital.api import docs

app_name = "api"

urlpatterns = [
    path("schema/", docs.schema, name="schema"),
    path("docs/", docs.swagger, name="docs"),
    path("reference/", docs.redoc, name="reference"),
    path("", include("accounts.api.urls")),
    path("", include("hospital.api.directory_urls")),
    path("", include("appointments.api.patient_urls")),
    path("", include("appointments.api.change_urls")),
    path("", include("appointments.api.doctor_urls")),
    path("", include("prescriptions.api.urls")),
    path("", include("payments.api.urls")),
]
