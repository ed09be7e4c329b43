"""Settings for the test suite: the real settings with test-only speed-ups."""

import os

# Production settings refuse to start without a key; the suite gets a throwaway one.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")
# Stripe in tests is the project's stand-in (tests/payments/conftest.py starts it with these).
os.environ["STRIPE_SECRET_KEY"] = "sk_test_suiteStandinKey0000000000000"  # noqa: S105 (the stand-in's)
os.environ["STRIPE_WEBHOOK_SECRET"] = "whsec_test_suite_secret"  # noqa: S105
# Nothing in the suite may reach out: Stripe is the stand-in (tests/payments/conftest.py) or nobody.
os.environ["STRIPE_API_BASE"] = "http://127.0.0.1:9"
# No video server: tests that show a video link set one of their own (a name that never resolves).
os.environ["VIDEO_BASE_URL"] = ""

from .settings import *  # noqa: F403

# Hashing passwords with PBKDF2 dominates a suite that creates many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests never run collectstatic: files come from the finders, and there is no root to scan.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# The manifest storage needs `collectstatic` first; tests render templates without it.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# The browser tests talk plain HTTP to a live server on 127.0.0.1.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# Generated API requests (schemathesis) and the permission matrix call far faster than a person;
# the throttle tests set their own rates.
API_THROTTLE_RATES = {**API_THROTTLE_RATES, "user": "100000/min", "address": "100000/min"}  # noqa: F405
