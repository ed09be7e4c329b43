"""The production settings for the app servers and the worker that tests start as processes,
less only what needs a TLS proxy or `collectstatic` in front of them (neither exists in a test)."""

import os

from hospital.settings import *  # noqa: F403

# Plain HTTP on 127.0.0.1 and no proxy sending X-Forwarded-Proto: no redirect to HTTPS, and no
# Secure cookies (the test's client would never send them back over HTTP).
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Static files from the finders: the manifest storage needs `collectstatic` (about 45 s) first.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
# The test makes its users with the suite's fast hasher (hospital/test_settings.py); log-in must read it.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Each test run keeps its keys apart in the shared Redis (django-environ passes a `?key_prefix=` of a
# redis:// CACHE_URL on in lower case, which Django's Redis cache ignores).
CACHES["default"]["KEY_PREFIX"] = os.environ.get("TEST_CACHE_KEY_PREFIX", "")  # noqa: F405
