"""Generated requests against every operation in the API's own schema (schemathesis): no answer
is a 5xx, and every answer matches what the schema says it returns.

The schema is fetched from /api/v1/schema/ when the test runs, so the test covers whatever
endpoints exist then. Requests go straight into the WSGI application (no server), as a patient,
a doctor and a visitor, each with a real Bearer token; Stripe is the project's stand-in.
Bounded: a few examples per operation, the same ones each run (derandomized), no deadline.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db

# Per operation and role. For a longer hunt: API_FUZZ_EXAMPLES=200, and API_FUZZ_RANDOM=1 for new
# examples each run instead of the same ones.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))
DERANDOMIZE = not os.environ.get("API_FUZZ_RANDOM")
CALLERS = ("patient", "doctor", "anonymous")


@pytest.fixture(autouse=True)
def _keep_the_tests_connection():
    """The WSGI handler closes the database connection after each request; in a test that is the
    test's own connection, inside its transaction. Django's test client unhooks it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=CALLERS)
def caller(request, world, standin) -> dict[str, str]:
    """The Authorization header of one role (none for a visitor). Stripe is the stand-in, so a
    booking or a refund goes through as it would, and a 503 (Stripe unreachable) is a failure."""
    user = world.user(request.param)
    if user is None:
        return {}
    _, secret = ApiToken.objects.create(user=user, name="schema fuzz")
    return {"Authorization": f"Bearer {secret}"}


def load_schema():
    """The schema as clients get it, from the running code (no database needed to build it).

    Loaded when the module is collected, not from a fixture: schemathesis 4's lazy loader
    (`schemathesis.pytest.from_fixture`) does not work with pytest 9 (it sets `Node._nodeid`)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    # The docs pages and the schema itself are HTML and YAML, not API answers.
    return schema.exclude(path_regex=r"^/api/v1/(schema|docs|reference)/")


schema = load_schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one world and token per role serves every example
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_no_server_error_and_every_answer_matches_the_schema(case, caller):
    case.call_and_validate(headers=caller, checks=[not_a_server_error, response_schema_conformance])
