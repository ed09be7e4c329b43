"""Request ids, JSON log lines and error pages (issue 13): a fault shows a friendly page with a
reference to quote, never a traceback or a secret; the log line of the fault carries the same
reference and the traceback."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django_tasks import task

from hospital.log_context import current_request_id
from tests.factories import PatientFactory
from tests.hospital.log_capture import LogCapture
from tests.hospital.raising_urls import FAULT_DETAIL

FRESH_ID = re.compile(r"[0-9a-f]{32}")
REPO = Path(__file__).resolve().parents[2]
task_logger = logging.getLogger("tests.tasks")


@pytest.fixture
def raising_site(settings):
    settings.ROOT_URLCONF = "tests.hospital.raising_urls"
    return Client(raise_request_exception=False)


@pytest.mark.django_db
class TestRequestIds:
    def test_each_request_gets_a_fresh_id_in_its_response_header(self, client):
        first, second = client.get("/"), client.get("/")
        assert FRESH_ID.fullmatch(first["X-Request-ID"]) and FRESH_ID.fullmatch(second["X-Request-ID"])
        assert first["X-Request-ID"] != second["X-Request-ID"]
        assert current_request_id() == ""  # a line written after the request is no longer its

    def test_a_well_formed_id_from_the_proxy_is_kept(self, client, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        response = client.get("/", headers={"X-Request-ID": "lb-7f3a9c2e.0042:eu-west"})
        assert response["X-Request-ID"] == "lb-7f3a9c2e.0042:eu-west"

    def test_without_a_proxy_a_clients_own_id_is_replaced(self, client, settings):
        # No proxy in front (DJANGO_TRUSTED_PROXY_COUNT=0): the header came from the visitor, who
        # could otherwise give their requests (and error pages) another request's reference.
        settings.TRUSTED_PROXY_COUNT = 0
        response = client.get("/", headers={"X-Request-ID": "lb-7f3a9c2e.0042:eu-west"})
        assert FRESH_ID.fullmatch(response["X-Request-ID"])

    @pytest.mark.parametrize(
        "sent",
        ["short", "x" * 129, "has space in it", "quote\"injection'here", "new\nline-in-the-id", "naïve-unicode-id", ""],
    )
    def test_anything_else_a_client_sends_is_replaced(self, client, sent):
        response = client.get("/", headers={"X-Request-ID": sent})
        assert FRESH_ID.fullmatch(response["X-Request-ID"])


@pytest.mark.django_db
class TestErrorPages:
    def test_a_fault_shows_a_friendly_page_with_the_reference_and_logs_the_traceback_under_it(self, raising_site):
        with LogCapture() as log:
            response = raising_site.get("/broken/")

        assert response.status_code == 500
        page = response.content.decode()
        request_id = response["X-Request-ID"]
        assert "Something went wrong on our side" in page
        assert f"Reference: <strong>{request_id}</strong>. Please quote this reference when you call us." in page
        for leak in ("Traceback", FAULT_DETAIL, "RuntimeError", settings.SECRET_KEY, "raising_urls"):
            assert leak not in page
        [line] = [line for line in log.lines() if line["logger"] == "django.request"]
        assert (line["level"], line["request_id"], line["status_code"]) == ("ERROR", request_id, 500)
        assert line["message"] == "Internal Server Error: /broken/"
        assert line["exception"].startswith("Traceback (most recent call last):")
        assert f"RuntimeError: {FAULT_DETAIL}" in line["exception"]
        assert line["time"].endswith("+00:00")

    def test_a_fault_under_the_api_answers_the_error_shape_with_the_reference(self, raising_site):
        with LogCapture() as log:
            response = raising_site.get("/api/v1/broken/")

        assert response.status_code == 500
        request_id = response["X-Request-ID"]
        assert response.json() == {
            "error": {
                "code": "server_error",
                "message": "Something went wrong on our side. Please try again later.",
                "fields": {},
                "request_id": request_id,
            }
        }
        assert FAULT_DETAIL not in response.content.decode()
        [line] = [line for line in log.lines() if line["logger"] == "django.request"]
        assert line["request_id"] == request_id and FAULT_DETAIL in line["exception"]

    def test_not_found_and_not_for_your_account_pages_quote_the_reference(self, client):
        with LogCapture() as log:
            missing = client.get("/no-such-page/")
        assert missing.status_code == 404
        assert f"Reference: <strong>{missing['X-Request-ID']}</strong>" in missing.content.decode()
        # Django writes this line after the middleware has returned: the id is still there.
        [line] = [line for line in log.lines() if line["logger"] == "django.request"]
        assert (line["message"], line["request_id"]) == ("Not Found: /no-such-page/", missing["X-Request-ID"])
        client.force_login(PatientFactory())
        forbidden = client.get("/portal/")
        assert forbidden.status_code == 403
        assert "This page is not for your account" in forbidden.content.decode()
        assert f"Reference: <strong>{forbidden['X-Request-ID']}</strong>" in forbidden.content.decode()

    def test_a_refused_host_gets_a_plain_400_page_with_the_reference(self, client):
        with LogCapture() as log:
            response = client.get("/", headers={"Host": "attacker.example"})

        assert response.status_code == 400
        page = response.content.decode()
        assert "We could not understand that request" in page
        assert f"Reference: <strong>{response['X-Request-ID']}</strong>" in page
        assert "attacker.example" not in page and "ALLOWED_HOSTS" not in page
        [line] = [line for line in log.lines() if line["logger"] == "django.security.DisallowedHost"]
        assert line["request_id"] == response["X-Request-ID"] and line["level"] == "ERROR"


@task()
def task_that_logs() -> None:
    task_logger.info("Task at work", extra={"step": "one"})


@pytest.mark.django_db(transaction=True)
def test_a_workers_task_logs_under_its_own_id():
    result = task_that_logs.enqueue()
    with LogCapture() as log:
        call_command("db_worker", queue_name="*", batch=True, startup_delay=False, reload=False, verbosity=0)

    [line] = [line for line in log.lines() if line["logger"] == "tests.tasks"]
    assert (line["message"], line["step"], line["request_id"]) == ("Task at work", "one", f"task-{result.id}")


def log_a_line(check: bool = True, **environment: str) -> str:
    """What one line logged by the configured site looks like on its console (stderr)."""
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('hospital.example').warning('Slot %s is odd', 7, extra={'slot_id': 7})"
    )
    env = {name: value for name, value in os.environ.items() if name != "LOG_FORMAT"}
    env.update(DJANGO_SETTINGS_MODULE="hospital.settings", **environment)
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=check
    )
    return done.stderr.strip()


def test_logs_are_json_without_debug_and_text_with_it():
    line = json.loads(log_a_line(DJANGO_DEBUG="false"))
    assert {key: line[key] for key in ("level", "logger", "message", "request_id", "slot_id")} == {
        "level": "WARNING",
        "logger": "hospital.example",
        "message": "Slot 7 is odd",
        "request_id": None,
        "slot_id": 7,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    text = log_a_line(DJANGO_DEBUG="true")
    assert re.fullmatch(r"\S+ \S+ WARNING hospital.example \[-\] Slot 7 is odd", text)
    assert json.loads(log_a_line(DJANGO_DEBUG="true", LOG_FORMAT="json"))["message"] == "Slot 7 is odd"
    refused = log_a_line(check=False, LOG_FORMAT="xml")
    assert refused.endswith("ImproperlyConfigured: LOG_FORMAT must be json or text, not 'xml'.")
