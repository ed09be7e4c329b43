"""The database's own guard on visit notes: a signed note and its addenda are never changed.

The models and services refuse first (appointments.models.VisitNote); these triggers make a raw
query, a bulk update or a bug in some other path fail too. Installed after every migrate
(post_migrate), so a database built from migrations and a test database built without them both
have them.

What each database can hold:
- both refuse an UPDATE of a signed note or of an addendum, and an addendum on an unsigned note;
- PostgreSQL, the production database, also refuses to DELETE a signed note or an addendum.
  SQLite does not: its flush between tests deletes rows, which such a trigger would refuse
  (PostgreSQL's flush is a TRUNCATE, which row triggers do not see).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

_PG = [
    """
CREATE OR REPLACE FUNCTION appointments_visitnote_signed_is_final() RETURNS trigger AS $$
BEGIN
    IF OLD.signed_at IS NOT NULL THEN
        RAISE EXCEPTION 'a signed visit note is final: % refused', TG_OP;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER appointments_visitnote_signed_is_final
    BEFORE UPDATE OR DELETE ON appointments_visitnote
    FOR EACH ROW EXECUTE FUNCTION appointments_visitnote_signed_is_final();
""",
    """
CREATE OR REPLACE FUNCTION appointments_visitnoteaddendum_final() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM appointments_visitnote WHERE id = NEW.note_id AND signed_at IS NOT NULL) THEN
            RAISE EXCEPTION 'an addendum needs a signed visit note';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a visit note addendum is final: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER appointments_visitnoteaddendum_final
    BEFORE INSERT OR UPDATE OR DELETE ON appointments_visitnoteaddendum
    FOR EACH ROW EXECUTE FUNCTION appointments_visitnoteaddendum_final();
""",
]

_SQLITE = [
    """
CREATE TRIGGER IF NOT EXISTS appointments_visitnote_signed_is_final
BEFORE UPDATE ON appointments_visitnote FOR EACH ROW WHEN OLD.signed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a signed visit note is final: UPDATE refused'); END
""",
    """
CREATE TRIGGER IF NOT EXISTS appointments_visitnoteaddendum_final
BEFORE UPDATE ON appointments_visitnoteaddendum FOR EACH ROW
BEGIN SELECT RAISE(ABORT, 'a visit note addendum is final: UPDATE refused'); END
""",
    """
CREATE TRIGGER IF NOT EXISTS appointments_visitnoteaddendum_on_signed_note
BEFORE INSERT ON appointments_visitnoteaddendum FOR EACH ROW
WHEN NOT EXISTS (SELECT 1 FROM appointments_visitnote WHERE id = NEW.note_id AND signed_at IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'an addendum needs a signed visit note'); END
""",
]


def install_note_triggers(*, using: str = DEFAULT_DB_ALIAS, **_kwargs) -> None:
    connection = connections[using]
    statements = {"postgresql": _PG, "sqlite": _SQLITE}.get(connection.vendor, [])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
