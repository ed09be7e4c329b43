"""The insert-only audit log of medical data: every read and write of visit notes, addenda,
prescriptions and their PDFs, and a doctor's view of a patient's history (DESIGN §7)."""

from __future__ import annotations

import contextlib
import ipaddress

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.http import HttpRequest

from accounts.models import User
from hospital.models import AuditEntry


def request_ip(request: HttpRequest) -> str | None:
    """The address the request came from: the connection's, or behind TRUSTED_PROXY_COUNT reverse
    proxies the one the outermost of them saw. Each proxy appends the address it was called from
    to X-Forwarded-For, so that is the Nth entry from the right; anything left of it was written
    by the client and proves nothing. Rate limits, django-axes and the audit log all use this."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(forwarded) >= proxies and (address := _ip_address(forwarded[-proxies])):
            return address
    return request.META.get("REMOTE_ADDR") or None


def _ip_address(hop: str) -> str | None:
    """The address in one X-Forwarded-For entry: some proxies append the caller's port
    ("203.0.113.7:51234", "[2001:db8::7]:51234") or write "unknown". None when it holds none:
    axes and the audit log keep addresses in an inet column on PostgreSQL, which refuses the rest."""
    host, colon, port = hop.rpartition(":")
    for candidate in [hop, host.removeprefix("[").removesuffix("]")] if colon and port.isdigit() else [hop]:
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(candidate))
    return None


def audit_record(
    *, actor: User | None, action: str, record: Model, patient: User | None, ip: str | None, summary: str = ""
) -> AuditEntry:
    """Record one access. Called inside the transaction of the write it records, so a write and its
    entry commit or roll back together; reads record on their own."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        patient=patient,
        record_type=record._meta.label_lower,
        record_id=str(record.pk),
        summary=summary[:300],
        ip_address=ip,
    )


_PG_INSERT_ONLY = """
CREATE OR REPLACE FUNCTION hospital_auditentry_insert_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is insert-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER hospital_auditentry_insert_only
    BEFORE UPDATE OR DELETE ON hospital_auditentry
    FOR EACH ROW EXECUTE FUNCTION hospital_auditentry_insert_only();
"""


def install_insert_only_trigger(*, using: str = DEFAULT_DB_ALIAS, **_kwargs) -> None:
    """PostgreSQL refuses UPDATE and DELETE on the log. Run after every migrate (post_migrate), so a
    database built from migrations and a test database built without them both have it.

    Only on PostgreSQL, the production database: SQLite's flush between tests deletes rows, which
    a trigger there would refuse (PostgreSQL's flush is a TRUNCATE, which row triggers do not see)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_PG_INSERT_ONLY)
