#!/usr/bin/env bash
# Do what README's "## Deploy" says, as written, and check that the site then works: its `sh`
# blocks in order (packages, database and role, .env, migrate, collectstatic, the webhook set-up,
# check --deploy), the processes of its `procfile` block, the production smoke test against that
# app server, a signed Stripe event through the webhook, and each cron line of "Scheduled jobs"
# once. It runs in a copy of this checkout (tracked and new files; the virtualenv linked), so the
# checkout's own .env is never touched. What stands in for this machine's outside world comes
# from the environment, which wins over .env: the Stripe stand-in for live Stripe, Redis DB 5,
# e-mails written to files, the app server on a port of the check's own, and, for the webhook,
# scripts/forwarding_proxy.py in the TLS proxy's place.
#
#   scripts/deploy_check.sh                        a throwaway database and role, dropped after
#   DEPLOY_DB=name DEPLOY_KEEP_DB=1 scripts/...    keep them for later steps (CI); the caller drops
set -euo pipefail
cd "$(dirname "$0")/.."

SOURCE="$PWD"
PORT="${DEPLOY_CHECK_PORT:-18420}"
STANDIN_PORT="${DEPLOY_CHECK_STANDIN_PORT:-18421}"
PROXY_PORT="${DEPLOY_CHECK_PROXY_PORT:-18422}"
CHECK_DB="${DEPLOY_DB:-deploy_check_$$}"
WORK="$(mktemp -d /tmp/deploy-check.XXXXXX)"
APP="$WORK/hospital"
PY="$SOURCE/.venv/bin/python"
started=$(date +%s)

fail() { echo "deploy check: $*" >&2; exit 1; }
say() { echo "deploy check ($(( $(date +%s) - started )) s): $*"; }

children=()
cleanup() {
    for pid in "${children[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for pid in "${children[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    if [[ "${DEPLOY_KEEP_DB:-0}" != 1 ]]; then
        psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $CHECK_DB" -c "DROP ROLE IF EXISTS $CHECK_DB" \
            >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Start a long-running process in a process group of its own (gunicorn's workers included).
background() {  # name, then the command line (run by bash from $APP)
    local name="$1"; shift
    (cd "$APP" && exec setsid bash -c "exec $*") >"$WORK/$name.log" 2>&1 &
    children+=($!)
}

# The fenced blocks in one language of one README section, one line each.
readme_blocks() {  # section heading, language
    awk -v heading="$1" -v lang="$2" '
        /^## / { in_section = ($0 == heading) }
        in_section && /^```/ {
            if (in_block) in_block = 0; else if (in_other) in_other = 0
            else if ($0 == "```" lang) in_block = 1; else in_other = 1
            next
        }
        in_block { print }' README.md
}

# --- the copy of the site, and what stands in for the outside world ---------------------------
mkdir -p "$APP" "$WORK/mail"
git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$APP"
ln -s "$(readlink -f .venv)" "$APP/.venv"

export APP_DIR="$APP" DB_NAME="$CHECK_DB" HOST=127.0.0.1
export STRIPE_SECRET_KEY="sk_test_deployCheckStandinKey000000000"
export STRIPE_WEBHOOK_SECRET="whsec_deployCheckStandinSecret000000"
export STRIPE_API_BASE="http://127.0.0.1:${STANDIN_PORT}"
export CACHE_URL="redis://127.0.0.1:6379/5"
export EMAIL_URL="filemail:///$WORK/mail"  # django-environ drops one leading slash
export GUNICORN_BIND="127.0.0.1:${PORT}" GUNICORN_WORKERS=1 GUNICORN_THREADS=2

background standin "$PY" -m stripe_standin --port "$STANDIN_PORT" --api-key "$STRIPE_SECRET_KEY" \
    --webhook-secret "$STRIPE_WEBHOOK_SECRET"
for _ in $(seq 50); do curl -sf -o /dev/null "$STRIPE_API_BASE/_standin/health" && break; sleep 0.2; done
curl -sf -o /dev/null "$STRIPE_API_BASE/_standin/health" || fail "the Stripe stand-in did not start: $(cat "$WORK/standin.log")"

# --- the section's commands, as written (its first line's names are the check's own) ----------
readme_blocks "## Deploy" sh >"$WORK/deploy.sh"
grep -q '^export APP_DIR=' "$WORK/deploy.sh" || fail "README's Deploy section no longer starts by naming APP_DIR"
sed -i -E 's/^export APP_DIR=.*$/: "APP_DIR, DB_NAME and HOST come from the check"/' "$WORK/deploy.sh"
say "running the Deploy section's $(grep -vc '^\s*$' "$WORK/deploy.sh") command lines in $APP"
(cd "$APP" && bash -euo pipefail "$WORK/deploy.sh") || fail "a command of the Deploy section failed (above)"
[[ -f "$APP/.env" && "$(stat -c %a "$APP/.env")" == 600 ]] || fail ".env was not written, or is readable by others"

# --- the processes ----------------------------------------------------------------------------
readme_blocks "## Deploy" procfile >"$WORK/Procfile"
[[ "$(wc -l <"$WORK/Procfile")" -ge 4 ]] || fail "the Deploy section's procfile block lost its processes"
while IFS= read -r line; do
    background "${line%%:*}" "${line#*: }"
done <"$WORK/Procfile"
BASE="http://127.0.0.1:${PORT}"
for _ in $(seq 150); do curl -s -o /dev/null "$BASE/" && break; sleep 0.2; done
curl -s -o /dev/null "$BASE/" || fail "the app server did not answer on $BASE: $(cat "$WORK/web.log")"
say "processes started: $(cut -d: -f1 "$WORK/Procfile" | tr '\n' ' ')"

# --- the site answers as production: HTTPS redirect, pages, hashed static files, headers -------
SMOKE_URL="$BASE" "$SOURCE/scripts/smoke_production.sh"

# --- a signed event from "Stripe" reaches the webhook, through the proxy, and is accepted --------
background proxy "$PY" "$SOURCE/scripts/forwarding_proxy.py" "$PROXY_PORT" "$PORT"
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:${PROXY_PORT}/" && break; sleep 0.2; done
webhook_path="/stripe/webhook/$(sed -n 's/^STRIPE_WEBHOOK_UUID=//p' "$APP/.env")/"
curl -sf -o /dev/null -H "Authorization: Bearer $STRIPE_SECRET_KEY" -H "Content-Type: application/json" \
    -d "{\"webhook_url\": \"http://127.0.0.1:${PROXY_PORT}${webhook_path}\"}" "$STRIPE_API_BASE/_standin/config"
"$PY" - <<'PY'
import os

import stripe

stripe.api_base, stripe.api_key = os.environ["STRIPE_API_BASE"], os.environ["STRIPE_SECRET_KEY"]
line = {"price_data": {"currency": "usd", "unit_amount": 5000, "product_data": {"name": "Consultation"}}, "quantity": 1}
session = stripe.checkout.Session.create(
    mode="payment", payment_method_types=["card"], line_items=[line],
    success_url="https://127.0.0.1/paid", cancel_url="https://127.0.0.1/back",
)  # fmt: skip
stripe.checkout.Session.expire(session.id)
PY
curl -sf -o /dev/null -H "Authorization: Bearer $STRIPE_SECRET_KEY" -H "Content-Type: application/json" \
    -d '{"timeout": 15}' "$STRIPE_API_BASE/_standin/wait"
grep -q "\"POST ${webhook_path} HTTP/1.1\" 200 " "$WORK/web.log" \
    || fail "the webhook did not answer 200: $(grep -F "$webhook_path" "$WORK/web.log" || tail -20 "$WORK/web.log")"
say "Stripe's signed checkout.session.expired was accepted at ${webhook_path}"

# --- each scheduled job once, as its cron line says ---------------------------------------------
readme_blocks "## Configuration" cron | awk '!/^#/ && NF { $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' \
    | sed "s|/srv/hospital|$APP|g" >"$WORK/cron.sh"
[[ -s "$WORK/cron.sh" ]] || fail "no cron lines found under Scheduled jobs"
while IFS= read -r job; do
    bash -c "$job" >"$WORK/job.log" 2>&1 || fail "scheduled job failed: $job: $(cat "$WORK/job.log")"
done <"$WORK/cron.sh"
say "$(wc -l <"$WORK/cron.sh") scheduled jobs ran and exited 0"

# --- every process is still up --------------------------------------------------------------------
for index in "${!children[@]}"; do
    kill -0 "${children[$index]}" 2>/dev/null || fail "a process exited early; logs: $(tail -n 20 "$WORK"/*.log)"
done
say "the Deploy section works as written"
