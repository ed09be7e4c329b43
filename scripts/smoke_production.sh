#!/usr/bin/env bash
# Serve the site as production would (DEBUG off, manifest static files, gunicorn) against the
# database in $DATABASE_URL, and check a few pages and headers over HTTP. Used by CI.
# With SMOKE_URL=http://127.0.0.1:PORT it checks a server already running there instead
# (scripts/deploy_check.sh: the one the README's Deploy section starts).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${SMOKE_URL:-}" ]]; then
    BASE="$SMOKE_URL"
else
    PORT="${SMOKE_PORT:-8765}"
    BASE="http://127.0.0.1:${PORT}"
    export DJANGO_DEBUG=false
    export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')}"
    export DJANGO_ALLOWED_HOSTS=127.0.0.1
    # curl plays the TLS proxy below: it sends X-Forwarded-Proto: https for the HTTPS requests.
    export DJANGO_SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto

    .venv/bin/python manage.py collectstatic --noinput -v0
    .venv/bin/gunicorn hospital.wsgi --bind "127.0.0.1:${PORT}" --workers 1 --log-level warning &
    server=$!
    trap 'kill $server 2>/dev/null || true' EXIT
fi
for _ in $(seq 50); do curl -s -o /dev/null "$BASE/" && break; sleep 0.2; done

fail() { echo "production smoke: $*" >&2; exit 1; }
https_get() { curl -s -H "X-Forwarded-Proto: https" "$@"; }

[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/")" = 301 ] || fail "plain HTTP is not redirected to HTTPS"
home=$(https_get "$BASE/")
grep -q "Find a doctor" <<<"$home" || fail "home page did not render"
css=$(grep -o '/static/css/site\.[0-9a-f]*\.css' <<<"$home" | head -1)
[ -n "$css" ] || fail "stylesheet is not served under a hashed (manifest) name"
[ "$(https_get -o /dev/null -w '%{http_code}' "$BASE$css")" = 200 ] || fail "whitenoise did not serve $css"
headers=$(https_get -D - -o /dev/null "$BASE/doctors/")
grep -qi "^strict-transport-security: max-age=" <<<"$headers" || fail "no HSTS header"
grep -qi "^x-frame-options: DENY" <<<"$headers" || fail "no X-Frame-Options header"
grep -qi "^x-content-type-options: nosniff" <<<"$headers" || fail "no nosniff header"
[ "$(https_get -o /dev/null -w '%{http_code}' "$BASE/doctors/99999/")" = 404 ] || fail "unknown doctor is not a 404"
echo "production smoke: redirect, pages, hashed static files and security headers OK"
