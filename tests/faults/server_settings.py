"""Settings of the app server a fault test runs in a subprocess: the suite's own settings (plain
HTTP on loopback, fast password hashing), with Stripe at the test's stand-in, which the suite's
settings leave pointing nowhere. The database is the DATABASE_URL the test gives."""

import os

from hospital.test_settings import *  # noqa: F403

STRIPE_API_HOST = os.environ["FAULTS_STRIPE_API_BASE"]
