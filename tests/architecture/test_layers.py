"""The apps' one-way dependencies, as far as import-linter cannot see them."""

import re
from pathlib import Path

from payments.receivers import HANDLED_EVENTS
from payments.webhooks import webhook_endpoint_ensure
from stripe_standin.config import DEFAULT_ENABLED_EVENTS

ROOT = Path(__file__).resolve().parents[2]
APPS = ["accounts", "hospital", "appointments", "payments", "prescriptions"]


def test_no_app_reaches_a_model_by_name_to_dodge_the_import_contracts():
    """`apps.get_model("appointments", ...)` from a lower app would hide an upward dependency from
    import-linter; migrations are the one place that must look models up by name."""
    offenders = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and re.search(r"\bget_model\(", path.read_text())
    ]
    assert offenders == []


def test_the_stand_in_posts_exactly_the_events_our_receivers_handle():
    assert sorted(DEFAULT_ENABLED_EVENTS) == sorted(HANDLED_EVENTS)
    assert len(set(HANDLED_EVENTS)) == len(HANDLED_EVENTS)


def test_the_webhook_endpoint_subscribes_to_the_events_our_receivers_handle(db):
    endpoint = webhook_endpoint_ensure(base_url="http://testserver")

    assert sorted(endpoint.enabled_events) == sorted(HANDLED_EVENTS)
