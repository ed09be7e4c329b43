"""What gunicorn makes of hospital/gunicorn.conf.py, as `gunicorn --print-config` tells an operator."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def effective_config(**environment: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUNICORN_")} | environment
    result = subprocess.run(  # noqa: S603 - our own gunicorn and config
        [GUNICORN, "-c", "hospital/gunicorn.conf.py", "--print-config", "hospital.wsgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return {
        name.strip(): value.strip() for name, _, value in (line.partition("=") for line in result.stdout.splitlines())
    }


def test_defaults_suit_one_machine_behind_a_proxy():
    config = effective_config(STRIPE_REQUEST_BUDGET_SECONDS="8")
    assert config["bind"] == "['127.0.0.1:8000']"
    assert config["worker_class"] == "gthread"
    assert config["threads"] == "4"
    assert int(config["workers"]) == min(2 * os.cpu_count() + 1, 8)
    # A restart lets a booking's Stripe calls (8 s) and a slow page finish.
    assert config["graceful_timeout"] == "28"
    assert config["timeout"] == "38"
    assert config["max_requests"] == "1000"
    assert config["max_requests_jitter"] == "100"
    assert config["preload_app"] == "False"
    # A second app server on the same machine must not take over the first one's control socket.
    assert config["control_socket_disable"] == "True"
    assert config["accesslog"] == "-"
    assert "request_id=%({x-request-id}o)s" in config["access_log_format"]


def test_every_choice_comes_from_the_environment():
    config = effective_config(
        GUNICORN_BIND="10.0.0.5:8001,127.0.0.1:8002",
        GUNICORN_WORKERS="3",
        GUNICORN_THREADS="6",
        GUNICORN_KEEPALIVE="75",
        GUNICORN_MAX_REQUESTS="0",
        GUNICORN_FORWARDED_ALLOW_IPS="10.0.0.2",
        STRIPE_REQUEST_BUDGET_SECONDS="4.5",
    )
    assert config["bind"] == "['10.0.0.5:8001', '127.0.0.1:8002']"
    assert (config["workers"], config["threads"], config["keepalive"]) == ("3", "6", "75")
    assert config["max_requests"] == "0"
    assert config["forwarded_allow_ips"] == "['10.0.0.2']"
    # The timeouts follow the Stripe budget, rounded up.
    assert (config["graceful_timeout"], config["timeout"]) == ("25", "35")
