#!/usr/bin/env bash
# Start the demo: migrate, seed, fill slots, start the Stripe stand-in (unless real Stripe keys
# are configured), the task worker and the outbox sweeper, then serve with gunicorn on
# 127.0.0.1:$PORT. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

export DJANGO_DEBUG="${DJANGO_DEBUG:-true}"
PORT="${PORT:-8000}"
STANDIN_PORT="${STANDIN_PORT:-12111}"
# Exported: the links in e-mails the demo sends point at the demo.
export SITE_URL="http://127.0.0.1:${PORT}"
PY=.venv/bin/python

# What the settings say (from the environment or .env), as shell variables.
read_settings() {
    $PY manage.py shell -v0 -c '
import shlex
from django.conf import settings
from payments.webhooks import webhook_url_path
for name, value in [("STRIPE_KEY", settings.STRIPE_SECRET_KEY), ("WEBHOOK_SECRET", settings.STRIPE_WEBHOOK_SECRET),
                    ("HOSPITAL_NAME", settings.HOSPITAL_NAME), ("WEBHOOK_PATH", webhook_url_path())]:
    print(f"{name}={shlex.quote(value)}")'
}
eval "$(read_settings)"

if [[ -z "$STRIPE_KEY" ]]; then
    # No Stripe key: the project's own stand-in plays Stripe on 127.0.0.1 (no keys, no internet).
    USE_STANDIN=1
    export STRIPE_SECRET_KEY="sk_test_demoStandinKey000000000000000"
    export STRIPE_WEBHOOK_SECRET="whsec_demoStandinWebhookSecret00000"
    export STRIPE_API_BASE="http://127.0.0.1:${STANDIN_PORT}"
    WEBHOOK_SECRET="$STRIPE_WEBHOOK_SECRET"
else
    USE_STANDIN=0
fi

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v0
$PY manage.py seed_demo
$PY manage.py generate_slots

children=()
cleanup() { for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if [[ "$USE_STANDIN" == 1 ]]; then
    $PY -m stripe_standin --port "$STANDIN_PORT" --api-key "$STRIPE_SECRET_KEY" \
        --webhook-secret "$STRIPE_WEBHOOK_SECRET" --webhook-url "${SITE_URL}${WEBHOOK_PATH}" \
        --public-url "$STRIPE_API_BASE" --merchant-name "$HOSPITAL_NAME" &
    children+=($!)
    for _ in $(seq 50); do  # up to 10 s for the stand-in to listen
        $PY -c "import urllib.request; urllib.request.urlopen('${STRIPE_API_BASE}/_standin/health', timeout=1)" \
            2>/dev/null && break
        sleep 0.2
    done
    stripe_note="Stripe: local stand-in on ${STRIPE_API_BASE} (pay with 4242 4242 4242 4242)"
else
    stripe_note="Stripe: your keys from .env; forward events with: stripe listen --forward-to ${SITE_URL}${WEBHOOK_PATH}"
fi
if [[ -n "$WEBHOOK_SECRET" ]]; then
    $PY manage.py stripe_webhook_setup --base-url "$SITE_URL"
else
    echo "STRIPE_WEBHOOK_SECRET is empty: set it to the whsec_... that 'stripe listen' prints, then restart." >&2
fi

# Background work: django-tasks' database workers, one for e-mails (the default queue) and one
# for refunds, so money going back never waits behind a slow mail server; and the sweeper that
# retries what failed. Nobody watches these wait, so on SQLite they may wait 30 s for the write
# lock, where a web request gives up after 5 s with a "busy, try again" page.
SQLITE_BUSY_TIMEOUT_SECONDS=30 $PY manage.py db_worker --queue-name default --no-reload --interval 1 -v0 &
children+=($!)
SQLITE_BUSY_TIMEOUT_SECONDS=30 $PY manage.py db_worker --queue-name refunds --no-reload --interval 1 -v0 &
children+=($!)
SQLITE_BUSY_TIMEOUT_SECONDS=30 $PY manage.py sweep_outbox --every 30 &
children+=($!)

echo
echo "${HOSPITAL_NAME} demo: ${SITE_URL}/  (staff admin: ${SITE_URL}/admin/)"
echo "${stripe_note}"
echo "Staff and doctors: after the password, enter the code that '$PY manage.py demo_totp_code EMAIL' prints."
echo "Stop it with Ctrl-C."
# gunicorn, not runserver: runserver's listen queue of 10 drops connections under load.
.venv/bin/gunicorn hospital.wsgi --bind "127.0.0.1:${PORT}" --worker-class gthread --workers 2 --threads 2 \
    --access-logfile - --log-level warning &
children+=($!)
wait -n "${children[@]}"
