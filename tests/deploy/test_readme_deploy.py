"""The README's Deploy section against the code it describes (scripts/deploy_check.sh runs its
commands; this holds its copies of lists and names equal to the source)."""

import re
from pathlib import Path

from payments.receivers import HANDLED_EVENTS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def deploy_section() -> str:
    return README.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]


def test_the_stripe_endpoint_is_told_exactly_the_events_the_receivers_handle():
    """An event the Dashboard's endpoint does not send is a payment state that never changes."""
    step = deploy_section().split("**4. Stripe's webhook endpoint.**", 1)[1].split("**5.", 1)[0]
    listed = re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)`", step.split("exactly these", 1)[1])
    assert sorted(listed) == sorted(HANDLED_EVENTS)


def test_the_processes_are_the_app_server_with_its_config_and_the_workers_of_every_queue():
    from django.conf import settings

    procfile = deploy_section().split("```procfile\n", 1)[1].split("```", 1)[0]
    commands = dict(line.split(": ", 1) for line in procfile.strip().splitlines())
    assert commands["web"] == ".venv/bin/gunicorn -c hospital/gunicorn.conf.py hospital.wsgi"
    queues = {
        re.search(r"--queue-name (\S+)", command).group(1) for command in commands.values() if "db_worker" in command
    }
    assert queues == set(settings.TASKS["default"]["QUEUES"])
    assert any("sweep_outbox" in command for command in commands.values())
