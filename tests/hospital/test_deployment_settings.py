"""Settings a deployment gives through the environment, read as a fresh process reads them."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.hospital.smtp import BadSmtpServer

ROOT = Path(__file__).resolve().parents[2]

# What a process with only these variables set ends up with (no .env, no test settings).
SHOW = """
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "hospital.settings"
import django
django.setup()
from django.conf import settings
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from django.test import RequestFactory

from django.core.cache import cache
import time
started = time.monotonic()
try:
    cache.get("any") if os.environ.get("PROBE_CACHE") else None
    cache_answer = "answered"
except Exception as error:
    cache_answer = type(error).__name__
cache_seconds = time.monotonic() - started

over_https_says_the_proxy = RequestFactory().get("/doctors/", HTTP_X_FORWARDED_PROTO="https")
redirect = SecurityMiddleware(lambda request: HttpResponse()).process_request(over_https_says_the_proxy)
print(json.dumps({
    "proxy_ssl_header": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
    "forwarded_https_is_secure": over_https_says_the_proxy.is_secure(),
    "forwarded_https_redirected_to": redirect and redirect["Location"],
    "session_engine": settings.SESSION_ENGINE,
    "cache_backend": settings.CACHES["default"]["BACKEND"],
    "cache_answer": cache_answer,
    "cache_seconds": cache_seconds,
}))
"""


def deployed_settings(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CACHE_"))}
    production = {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "k" * 50, "DJANGO_ALLOWED_HOSTS": "testserver"}
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env={**clean, **production, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_without_a_proxy_header_a_client_cannot_claim_https():
    shown = deployed_settings()

    assert shown["proxy_ssl_header"] is None
    assert shown["forwarded_https_is_secure"] is False
    assert shown["forwarded_https_redirected_to"] == "https://testserver/doctors/"


def test_behind_a_proxy_its_header_says_the_visitor_used_https():
    shown = deployed_settings(DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")

    assert shown["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert shown["forwarded_https_is_secure"] is True
    assert shown["forwarded_https_redirected_to"] is None


def test_without_a_cache_url_everything_is_in_this_process_and_the_database():
    shown = deployed_settings()

    assert shown["cache_backend"] == "django.core.cache.backends.locmem.LocMemCache"
    assert shown["session_engine"] == "django.contrib.sessions.backends.db"


def test_with_redis_the_cache_and_sessions_are_shared():
    shown = deployed_settings(CACHE_URL="redis://127.0.0.1:6379/4")

    assert shown["cache_backend"] == "django.core.cache.backends.redis.RedisCache"
    assert shown["session_engine"] == "hospital.sessions"


def test_a_redis_that_hangs_fails_a_cache_call_within_its_timeout_instead_of_hanging_the_page():
    with BadSmtpServer(silent=True, hang_seconds=20) as hanging:  # accepts, then never answers
        shown = deployed_settings(
            CACHE_URL=f"redis://127.0.0.1:{hanging.port}/0", CACHE_TIMEOUT_SECONDS="0.5", PROBE_CACHE="1"
        )

    assert shown["cache_answer"] == "TimeoutError"
    assert shown["cache_seconds"] < 3
