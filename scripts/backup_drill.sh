#!/usr/bin/env bash
# The backup drill: dump a PostgreSQL database as a backup would (pg_dump, custom format), restore
# the dump into a throwaway database (pg_restore), and check the copy against the source
# (manage.py backup_compare): one paid appointment with a refund, field by field, with its payment,
# refunds, receipt, credit notes, status log and audit entries, then every table's row count.
# Exits non-zero if any step fails or anything differs. The throwaway database is always dropped.
#
#   scripts/backup_drill.sh postgres://postgres@127.0.0.1:5432/hospital [DUMP_FILE]
#
# With DUMP_FILE the dump is kept there (that is the backup); without, it is a temporary file.
set -euo pipefail
cd "$(dirname "$0")/.."

SOURCE_URL="${1:?usage: scripts/backup_drill.sh SOURCE_DATABASE_URL [DUMP_FILE]}"
KEEP_DUMP="${2:-}"
DUMP="${KEEP_DUMP:-$(mktemp --suffix=.dump)}"
SERVER_URL="${SOURCE_URL%/*}"                   # postgres://user@host:port
SOURCE_NAME="${SOURCE_URL##*/}"; SOURCE_NAME="${SOURCE_NAME%%\?*}"
COPY_NAME="${SOURCE_NAME}_drill_$$"
COPY_URL="${SERVER_URL}/${COPY_NAME}"
export PGOPTIONS="--client-min-messages=warning"

drop_copy() {
    psql "${SERVER_URL}/postgres" -q -c "DROP DATABASE IF EXISTS ${COPY_NAME}" || true
    [ -n "$KEEP_DUMP" ] || rm -f "$DUMP"
}
trap drop_copy EXIT

echo "backup drill: pg_dump ${SOURCE_NAME} -> ${DUMP}"
pg_dump --format=custom --no-owner --dbname="$SOURCE_URL" --file="$DUMP"
echo "backup drill: pg_restore into the throwaway database ${COPY_NAME}"
psql "${SERVER_URL}/postgres" -q -c "CREATE DATABASE ${COPY_NAME}"
pg_restore --no-owner --exit-on-error --dbname="$COPY_URL" "$DUMP"
echo "backup drill: comparing the copy with its source"
DATABASE_URL="$SOURCE_URL" .venv/bin/python manage.py backup_compare --source "$SOURCE_URL" --copy "$COPY_URL"
