"""What each staff group may open in the admin: one declarative table, applied after every migrate.

The groups themselves are created by accounts' data migration (0003_staff_groups). Their
permissions are set here instead, from `GROUP_PERMISSIONS`, by a post_migrate step: a migration
runs before the permissions of apps migrated after it exist (Django creates them after migrate,
and the prescriptions app's models may arrive in any later migration), while post_migrate runs
once every app's tables and permissions are in place, whichever migration came first. The table
is the whole truth: a permission added to a group by hand is removed on the next migrate.

Patterns are `app_label.codename` with shell wildcards; one starting with "!" takes away what
the others grant. An app or model not installed simply matches nothing. Read-only admins (audit
log, payments, notes) need only `view_`.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS

from accounts.models import StaffGroup

GROUP_PERMISSIONS: dict[StaffGroup, tuple[str, ...]] = {
    # Patients, appointments and schedules; a payment's status on the appointment, never amounts,
    # refunds or Stripe's records (the appointment admin hides the fee from whoever cannot view
    # payments).
    StaffGroup.FRONT_DESK: (
        "accounts.view_user",
        "accounts.view_patientprofile",
        "accounts.change_patientprofile",
        "appointments.view_appointment",
        "appointments.cancel_appointment",  # for the hospital, refunded in full
        "hospital.view_specialty",
        "hospital.view_doctor",
        "hospital.view_workinghours",
        "hospital.view_timeoff",
        "hospital.view_slot",
        "hospital.change_slot",  # block and unblock slots
    ),
    # Money: payments, refunds, disputes and Stripe's synced records. Never medical data: no
    # visit notes, prescriptions or audit log.
    StaffGroup.BILLING: (
        "accounts.view_user",
        "appointments.view_appointment",
        "appointments.cancel_appointment",
        "payments.view_*",
        "payments.refund_payment",
        "djstripe.view_*",
        # Replaying a failed webhook trigger (our admin action; the records stay read-only).
        "djstripe.change_webhookeventtrigger",
        # Stripe's keys and webhook set-up are the administrators' business.
        "!djstripe.view_apikey",
        "!djstripe.view_webhookendpoint",
    ),
    # Medical records, read-only, and who has read them.
    StaffGroup.CLINICAL_RECORDS: (
        "appointments.view_visitnote",
        "appointments.view_visitnoteaddendum",
        "prescriptions.view_*",
        "hospital.view_auditentry",
    ),
    # Everything else: accounts, groups, doctors, money, Stripe's set-up. Not the clinical records
    # themselves, which the issue keeps to the clinical-records group (an administrator who needs
    # them joins that group, and the admin's history shows it).
    StaffGroup.ADMINISTRATOR: (
        "*",
        "!appointments.*_visitnote",
        "!appointments.*_visitnoteaddendum",
        "!prescriptions.*",
    ),
}


def permission_names_for(group: StaffGroup, names: list[str]) -> list[str]:
    """Those of `names` ("app_label.codename") that `group` is granted."""
    granting = [pattern for pattern in GROUP_PERMISSIONS[group] if not pattern.startswith("!")]
    withheld = [pattern[1:] for pattern in GROUP_PERMISSIONS[group] if pattern.startswith("!")]
    return [
        name
        for name in names
        if any(fnmatchcase(name, pattern) for pattern in granting)
        and not any(fnmatchcase(name, pattern) for pattern in withheld)
    ]


def staff_groups_apply(*, using: str = DEFAULT_DB_ALIAS, apps=global_apps, **_kwargs) -> None:
    """Create any missing group and give each exactly the permissions of the table.

    Connected to post_migrate for accounts, which Django sends before it has created the
    permissions of the apps after accounts: those are created here first (Django's own step,
    idempotent), so every app's permissions exist when the table is applied."""
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    permissions = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for staff_group in StaffGroup:
        group, _ = Group.objects.using(using).get_or_create(name=staff_group.value)
        granted = permission_names_for(staff_group, sorted(permissions))
        group.permissions.set([permissions[name] for name in granted])
