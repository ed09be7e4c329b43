"""Settings for `bench/run.py`: the real settings, served the way production serves them (DEBUG off),
with only what a throwaway local benchmark needs changed.

bench/run.py sets DATABASE_URL, DJANGO_DEBUG=false, DJANGO_SECRET_KEY, DJANGO_SECURE_SSL_REDIRECT=false
and the STRIPE_* variables (pointing at the stand-in) before this module is imported.
"""

import os

from hospital.plain_http_settings import *  # noqa: F403

# The database is built by `connection.creation.create_test_db()` under exactly the name in
# DATABASE_URL, without migrations (dj-stripe's take ~100 s): tables come from the models.
DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"], "MIGRATE": False}  # noqa: F405

# The project's URLs plus a bare view, so the baseline passes the same middleware and server.
ROOT_URLCONF = "bench.urls"

# `BENCH_PROJECT_RECEIVERS=false` (bench/run.py's "bare dj-stripe" server): bench.apps disconnects
# payments/receivers.py from dj-stripe's signals, leaving dj-stripe's webhook handling alone.
INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]  # noqa: F405
BENCH_PROJECT_RECEIVERS = os.environ.get("BENCH_PROJECT_RECEIVERS", "true").lower() != "false"

# wrk calls from one address as one user, thousands of times a second: the API's limits (still
# counted, so their cost is measured) are raised above what a run can reach.
API_THROTTLE_RATES = {**API_THROTTLE_RATES, "user": "10000000/min", "address": "10000000/min"}  # noqa: F405

# `--servers 2`: the servers share one Redis (CACHE_URL) that others use too: this run's keys
# carry its own prefix, so no page of an earlier run is served and cleanup removes only them.
if os.environ.get("BENCH_CACHE_KEY_PREFIX"):
    CACHES["default"]["KEY_PREFIX"] = os.environ["BENCH_CACHE_KEY_PREFIX"]  # noqa: F405

# The runner seeds database sessions (bench/seeding.py), whatever the real settings choose with
# CACHE_URL; `--servers 2` also runs a server with BENCH_SESSION_ENGINE set to the cache's, its
# sessions copied into the shared Redis, to compare the two.
SESSION_ENGINE = os.environ.get("BENCH_SESSION_ENGINE", "django.contrib.sessions.backends.db")
