import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str, **env) -> subprocess.CompletedProcess:
    # An empty key, not a missing one: a developer's .env must not fill it in.
    clean = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | {"DJANGO_SECRET_KEY": ""}
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, "DJANGO_DEBUG": "false", **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_web_server_refuses_to_start_in_production_without_a_secret_key():
    result = run("import hospital.wsgi")
    assert result.returncode != 0
    assert "SECRET_KEY setting must not be empty" in result.stderr


def test_management_commands_that_sign_nothing_run_without_a_key():
    result = run("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'hospital.settings'; django.setup()")
    assert result.returncode == 0, result.stderr


def test_the_web_server_starts_with_a_key():
    result = run("import hospital.wsgi", DJANGO_SECRET_KEY="a-real-secret-for-this-test-" + "x" * 30)
    assert result.returncode == 0, result.stderr
