"""The backup drill's check (scripts/backup_drill.sh): after a restore, compare the copy with the
database it was dumped from. For one booked-and-paid appointment with a refund, its rows field by
field (the appointment, its payment, checkout attempts, refunds, receipt, credit notes, disputes,
status log and the patient's audit entries); then the row count of every table of our apps,
dj-stripe's and the task queue's (e-mails and refunds not yet run). Any difference: listed, and
the command fails (exit status 1)."""

from __future__ import annotations

import environ
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.db.models import Model, QuerySet

from appointments.models import Appointment, AppointmentLogEntry
from hospital.models import AuditEntry
from payments.models import CheckoutAttempt, CreditNote, Dispute, Payment, Receipt, Refund

COUNTED_APPS = [
    "accounts",
    "hospital",
    "appointments",
    "payments",
    "prescriptions",
    "djstripe",
    "django_tasks_database",
]
SOURCE, COPY = "backup_source", "backup_copy"


def appointment_to_compare(alias: str) -> Appointment | None:
    """A paid appointment with a refund and a receipt, one whose patient has audit entries first."""
    candidates = (
        Appointment.objects.using(alias)
        .filter(payment__refunds__isnull=False, payment__receipt__isnull=False)
        .distinct()
        .order_by("pk")
    )
    audited = candidates.filter(patient__in=AuditEntry.objects.using(alias).values("patient"))
    return audited.first() or candidates.first()


def _rows_of(appointment: Appointment) -> dict[str, QuerySet]:
    """The appointment's rows, by what they are; each query runs on whichever database is asked."""
    payment = Payment.objects.filter(appointment_id=appointment.pk)
    return {
        "appointment": Appointment.objects.filter(pk=appointment.pk),
        "payment": payment,
        "checkout attempts": CheckoutAttempt.objects.filter(payment__in=payment),
        "refunds": Refund.objects.filter(payment__in=payment),
        "receipt": Receipt.objects.filter(payment__in=payment),
        "credit notes": CreditNote.objects.filter(payment__in=payment),
        "disputes": Dispute.objects.filter(payment__in=payment),
        "status log": AppointmentLogEntry.objects.filter(appointment_id=appointment.pk),
        "audit entries": AuditEntry.objects.filter(patient_id=appointment.patient_id),
    }


def _fields(row: Model) -> dict:
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}


def _compare_rows(what: str, source: QuerySet, copy: QuerySet) -> tuple[list[str], int]:
    source_rows = {row.pk: _fields(row) for row in source.using(SOURCE).order_by("pk")}
    copy_rows = {row.pk: _fields(row) for row in copy.using(COPY).order_by("pk")}
    differences = [f"{what}: row {pk} is missing from the copy" for pk in source_rows.keys() - copy_rows.keys()]
    differences += [f"{what}: row {pk} is in the copy only" for pk in copy_rows.keys() - source_rows.keys()]
    for pk in sorted(source_rows.keys() & copy_rows.keys()):
        for field, value in source_rows[pk].items():
            if copy_rows[pk][field] != value:
                differences.append(f"{what}: row {pk} {field} is {copy_rows[pk][field]!r} in the copy, {value!r}")
    return sorted(differences), len(source_rows)


def _compare_counts() -> tuple[list[str], int, int]:
    differences, tables, rows = [], 0, 0
    for label in COUNTED_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model._meta.proxy or not model._meta.managed:
                continue
            in_source = model._base_manager.using(SOURCE).count()
            in_copy = model._base_manager.using(COPY).count()
            tables, rows = tables + 1, rows + in_source
            if in_copy != in_source:
                differences.append(f"{model._meta.db_table}: {in_copy} rows in the copy, {in_source} in the source")
    return differences, tables, rows


def backup_differences(*, log=print) -> list[str]:
    """Everything that differs between the SOURCE and COPY databases (empty: the copy is whole)."""
    appointment = appointment_to_compare(SOURCE)
    if appointment is None:
        return ["the source has no paid appointment with a refund and a receipt: nothing to prove the restore by"]
    log(f"Comparing appointment {appointment.pk} and its rows:")
    differences = []
    for what, rows in _rows_of(appointment).items():
        found, count = _compare_rows(what, rows, rows)
        log(f"  {what}: {count} row{'s' if count != 1 else ''}{', different' if found else ', identical'}")
        differences += found
    found, tables, rows = _compare_counts()
    log(f"Row counts of {tables} tables ({rows} rows in the source): {'different' if found else 'identical'}")
    return differences + found


def use_databases(source_url: str, copy_url: str) -> None:
    """Open the two databases under their own aliases, with the default database's options."""
    base = connections["default"].settings_dict
    for alias, url in [(SOURCE, source_url), (COPY, copy_url)]:
        connections.settings[alias] = {**base, "OPTIONS": {}, **environ.Env.db_url_config(url)}


class Command(BaseCommand):
    help = "Compare a restored copy with its source database; fails on any difference (the backup drill)."

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="DATABASE_URL of the database that was dumped")
        parser.add_argument("--copy", required=True, help="DATABASE_URL of the database it was restored into")

    def handle(self, *args, source, copy, **options):
        use_databases(source, copy)
        differences = backup_differences(log=self.stdout.write)
        if differences:
            for difference in differences:
                self.stderr.write(f"DIFFERENT {difference}")
            raise CommandError(f"the restored copy differs from its source in {len(differences)} ways")
        self.stdout.write(self.style.SUCCESS("The restored copy matches its source."))
