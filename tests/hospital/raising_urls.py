"""The site's URLs plus pages that fail on purpose (tests of what a fault shows and logs)."""

from django.urls import path

from hospital.urls import handler400, handler404, handler500, urlpatterns  # noqa: F401 (Django reads them here)

# What a careless error page might leak: it must appear in the log only.
FAULT_DETAIL = "ledger row 42 is inconsistent"


def broken_page(request):
    raise RuntimeError(FAULT_DETAIL)


urlpatterns = [
    path("broken/", broken_page),
    path("api/v1/broken/", broken_page),
    *urlpatterns,
]
