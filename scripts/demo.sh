#!/usr/bin/env bash
# Start the demo: migrate, seed, fill slots, then serve with gunicorn on 127.0.0.1:$PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

export DJANGO_DEBUG="${DJANGO_DEBUG:-true}"
PORT="${PORT:-8000}"
PY=.venv/bin/python

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v0
$PY manage.py seed_demo
$PY manage.py generate_slots

echo
echo "Northbridge Hospital demo: http://127.0.0.1:${PORT}/  (staff admin: http://127.0.0.1:${PORT}/admin/)"
echo "Stop it with Ctrl-C."
# gunicorn, not runserver: runserver's listen queue of 10 drops connections under load.
exec .venv/bin/gunicorn hospital.wsgi --bind "127.0.0.1:${PORT}" --worker-class gthread --workers 2 --threads 2 \
    --access-logfile - --log-level warning
