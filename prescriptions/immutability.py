"""PostgreSQL's half of "issued = immutable": triggers refuse UPDATE and DELETE of an issued
prescription and any write to its items, so no raw query or other code path can rewrite one.

Python refuses the same writes first (prescriptions.models), with a plain message; these are the
backstop. Installed after every migrate (post_migrate), like the audit log's trigger, so a database
built from migrations and a test database built without them both have them; only on PostgreSQL,
the production database (SQLite's flush between tests deletes rows, which a trigger would refuse).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

_PG_TRIGGERS = """
CREATE OR REPLACE FUNCTION prescriptions_prescription_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.issued_at IS NOT NULL THEN
        RAISE EXCEPTION 'prescription % is issued: % refused', OLD.number, TG_OP;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER prescriptions_prescription_frozen
    BEFORE UPDATE OR DELETE ON prescriptions_prescription
    FOR EACH ROW EXECUTE FUNCTION prescriptions_prescription_frozen();

CREATE OR REPLACE FUNCTION prescriptions_prescriptionitem_frozen() RETURNS trigger AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND EXISTS (
            SELECT 1 FROM prescriptions_prescription WHERE id = OLD.prescription_id AND issued_at IS NOT NULL))
       OR (TG_OP <> 'DELETE' AND EXISTS (
            SELECT 1 FROM prescriptions_prescription WHERE id = NEW.prescription_id AND issued_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'items of an issued prescription are fixed: % refused', TG_OP;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER prescriptions_prescriptionitem_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON prescriptions_prescriptionitem
    FOR EACH ROW EXECUTE FUNCTION prescriptions_prescriptionitem_frozen();
"""


def install_immutability_triggers(*, using: str = DEFAULT_DB_ALIAS, **_kwargs) -> None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_PG_TRIGGERS)
