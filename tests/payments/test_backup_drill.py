"""The backup drill (scripts/backup_drill.sh, manage.py backup_compare): a pg_dump of a database
restored into a throwaway one holds the same paid appointment, payment, refunds, receipt, credit
note, status log and audit entries, field by field; a damaged restore is caught and fails."""

import os
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from appointments.models import AppointmentLogEntry
from hospital.audit import audit_record
from hospital.models import AuditAction
from payments.models import CreditNote, Receipt, Refund, RefundReason, RefundStatus
from tests.factories import visit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def database_url(name: str) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def run(*command: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own tools and scripts
        command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def paid_and_refunded():
    """A paid visit, canceled with a refund that went through: its receipt and credit note,
    its status log and an audit entry for its patient."""
    appointment = visit(status="canceled")
    payment = appointment.payment
    now = timezone.now()
    refund = Refund.objects.create(
        payment=payment,
        payment_intent_id="pi_drill",
        amount=payment.captured_amount // 2,
        currency=payment.currency,
        reason=RefundReason.PATIENT_CANCELED,
        status=RefundStatus.SUCCEEDED,
        stripe_refund_id="re_drill",
    )
    Receipt.objects.create(payment=payment, year=now.year, number=1, amount=payment.captured_amount,
                           currency=payment.currency, issued_at=now)  # fmt: skip
    CreditNote.objects.create(refund=refund, payment=payment, year=now.year, number=1, amount=refund.amount,
                              currency=payment.currency, issued_at=now)  # fmt: skip
    for status, message in [("confirmed", "Paid."), ("canceled", "Canceled by the patient; 50 % refunded.")]:
        AppointmentLogEntry.objects.create(appointment=appointment, at=now, status=status, message=message)
    audit_record(actor=None, action=AuditAction.READ, record=appointment, patient=appointment.patient, ip=None)
    return appointment


def psql(url: str, sql: str) -> subprocess.CompletedProcess:
    result = run("psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-Atc", sql)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def restored_copy(paid_and_refunded):
    """The test database dumped with pg_dump and restored into a throwaway database: both URLs."""
    source_name = connection.settings_dict["NAME"]
    copy_name = f"{source_name}_copy_{os.getpid()}"
    dump = Path(f"/tmp/{copy_name}.dump")  # noqa: S108 - removed below
    try:
        dumped = run("pg_dump", "-Fc", "--no-owner", f"--dbname={database_url(source_name)}", f"--file={dump}")
        assert dumped.returncode == 0, dumped.stderr
        psql(database_url("postgres"), f"CREATE DATABASE {copy_name}")
        restored = run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={database_url(copy_name)}", str(dump))
        assert restored.returncode == 0, restored.stderr
        yield database_url(source_name), database_url(copy_name)
    finally:
        dump.unlink(missing_ok=True)
        run("psql", database_url("postgres"), "-q", "-c", f"DROP DATABASE IF EXISTS {copy_name}")


def compare(source: str, copy: str) -> subprocess.CompletedProcess:
    return run(
        ".venv/bin/python", "manage.py", "backup_compare", "--source", source, "--copy", copy, DATABASE_URL=source
    )


def test_the_drill_script_dumps_restores_compares_and_drops_its_copy(paid_and_refunded):
    source = connection.settings_dict["NAME"]

    drill = run("scripts/backup_drill.sh", database_url(source))

    assert drill.returncode == 0, drill.stdout + drill.stderr
    told = drill.stdout.splitlines()
    assert f"Comparing appointment {paid_and_refunded.pk} and its rows:" in told
    expected = ["payment: 1 row", "refunds: 1 row", "receipt: 1 row", "credit notes: 1 row", "status log: 2 rows"]
    for line in [*expected, "audit entries: 1 row"]:
        assert f"  {line}, identical" in told
    assert any(line.startswith("Row counts of ") and line.endswith(": identical") for line in told)
    assert told[-1] == "The restored copy matches its source."
    left = psql(database_url("postgres"), f"SELECT count(*) FROM pg_database WHERE datname LIKE '{source}_drill_%'")  # noqa: S608
    assert left.stdout.strip() == "0"


def test_a_restore_missing_a_refund_fails_the_drill(restored_copy, paid_and_refunded):
    source, copy = restored_copy
    refund = paid_and_refunded.payment.refunds.get()
    # The damage: one refund (and its credit note) lost in the copy, and one log line changed.
    psql(copy, f"DELETE FROM payments_creditnote WHERE refund_id = {refund.pk}")  # noqa: S608 - an id
    psql(copy, f"DELETE FROM payments_refund WHERE id = {refund.pk}")  # noqa: S608 - an id
    psql(copy, "UPDATE appointments_appointmentlogentry SET message = 'Paid!' WHERE message = 'Paid.'")

    result = compare(source, copy)

    assert result.returncode == 1
    differences = result.stderr.splitlines()
    assert f"DIFFERENT refunds: row {refund.pk} is missing from the copy" in differences
    assert f"DIFFERENT credit notes: row {refund.credit_note.pk} is missing from the copy" in differences
    assert any(line.endswith("message is 'Paid!' in the copy, 'Paid.'") for line in differences)
    assert "DIFFERENT payments_refund: 0 rows in the copy, 1 in the source" in differences
    assert "CommandError: the restored copy differs from its source in 5 ways" in result.stderr
    assert "refunds: 0 rows, different" not in result.stdout  # the source's count is what is shown
    assert "  refunds: 1 row, different" in result.stdout
