"""The production settings for the app servers and the worker that tests start as processes, less
only what needs a TLS proxy or `collectstatic` in front of them (hospital/plain_http_settings.py)."""

import os

from hospital.plain_http_settings import *  # noqa: F403

# The test makes its users with the suite's fast hasher (hospital/test_settings.py); log-in must read it.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Each test run keeps its keys apart in the shared Redis (django-environ passes a `?key_prefix=` of a
# redis:// CACHE_URL on in lower case, which Django's Redis cache ignores).
CACHES["default"]["KEY_PREFIX"] = os.environ.get("TEST_CACHE_KEY_PREFIX", "")  # noqa: F405
