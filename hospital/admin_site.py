"""The admin as hospital staff use it: our sections first, in the order staff work through them,
then other apps by name, and dj-stripe's synced records last, under a name that says what they are."""

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.urls import path

STRIPE_RECORDS = "Stripe records (synced, read-only)"
OUR_APPS = ("hospital", "appointments", "payments", "prescriptions", "accounts")


@dataclass(frozen=True)
class AdminPage:
    """A page of ours on the admin site that is no model's list (a report): an app registers it
    from its admin module, since this lower app may not import the apps above it."""

    route: str  # under /admin/, e.g. "payments/dashboard/"
    name: str  # the URL's name in the admin namespace
    title: str  # its link on the index
    description: str  # beside the link
    permission: str  # who may open it and see its link, e.g. "payments.view_payment"
    view: Callable


class HospitalAdminSite(admin.AdminSite):
    index_template = "admin/hospital_index.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pages: list[AdminPage] = []

    def register_page(self, page: AdminPage) -> None:
        self.pages.append(page)

    def get_urls(self):
        def guarded(page: AdminPage):
            def view(request, *args, **kwargs):
                if not request.user.has_perm(page.permission):
                    raise PermissionDenied
                return page.view(request, *args, **kwargs)

            return self.admin_view(view)

        from hospital import admin_views

        email_previews = [
            path("emails/", self.admin_view(admin_views.email_preview_list), name="email_previews"),
            path("emails/<slug:slug>/", self.admin_view(admin_views.email_preview_detail), name="email_preview"),
            path(
                "emails/<slug:slug>/html/", self.admin_view(admin_views.email_preview_html), name="email_preview_html"
            ),
        ]
        pages = [path(page.route, guarded(page), name=page.name) for page in self.pages]
        # Before the admin's own: its catch-all would read "emails" as an app's label.
        return email_previews + pages + super().get_urls()

    def index(self, request, extra_context=None):
        pages = [page for page in self.pages if request.user.has_perm(page.permission)]
        return super().index(request, {"admin_pages": pages, **(extra_context or {})})

    def get_app_list(self, request, app_label=None):
        def place(app: dict) -> tuple[int, int]:
            if app["app_label"] in OUR_APPS:
                return (0, OUR_APPS.index(app["app_label"]))
            return (2, 0) if app["app_label"] == "djstripe" else (1, 0)

        # Django's list is sorted by name; a stable sort keeps that order within each group.
        return sorted(super().get_app_list(request, app_label), key=place)


class HospitalAdminConfig(AdminConfig):
    """django.contrib.admin with our site; listed in INSTALLED_APPS in its place."""

    default_site = "hospital.admin_site.HospitalAdminSite"

    def ready(self):
        super().ready()  # autodiscover: every app's admin, dj-stripe's included, is registered now
        from hospital.stripe_admin import make_stripe_records_read_only

        make_stripe_records_read_only(admin.site)
        # The name every admin page of its models shows (index, sidebar, breadcrumbs).
        apps.get_app_config("djstripe").verbose_name = STRIPE_RECORDS
