"""The CSP runs no inline script (script-src 'self'): no template of ours may carry one, nor an
on...= handler attribute, and dj-stripe's one page with an inline script is overridden."""

import re
from pathlib import Path

import pytest
from django.contrib import admin
from djstripe.models import WebhookEndpoint

ROOT = Path(__file__).resolve().parents[2]
OUR_TEMPLATES = sorted(
    path
    for folder in ["templates", "accounts", "hospital", "appointments", "payments", "prescriptions"]
    for path in (ROOT / folder).rglob("*.html")
)
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def inline_scripts(html: str) -> list[str]:
    return [tag for tag in SCRIPT_TAG.findall(html) if "src=" not in tag]


def test_no_template_of_ours_has_an_inline_script_or_a_handler_attribute():
    assert len(OUR_TEMPLATES) > 50  # the search found the templates
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in OUR_TEMPLATES
        if (found := inline_scripts(text := path.read_text()) + HANDLER_ATTRIBUTE.findall(text))
    }
    assert offenders == {}


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(
        id="we_csp", url="https://hospital.example.org/stripe/webhook/x/", enabled_events=["*"], status="enabled"
    )


def delete_page(endpoint) -> str:
    return f"/admin/djstripe/webhookendpoint/{endpoint.pk}/delete/"


def test_the_webhook_endpoint_delete_page_stays_refused_in_our_read_only_admin(staff_client, endpoint):
    assert staff_client.get(delete_page(endpoint)).status_code == 403


def test_the_webhook_endpoint_delete_page_has_no_inline_script_and_its_spinner_script_is_served(
    staff_client, endpoint, monkeypatch
):
    # dj-stripe's page as it renders where deleting is allowed (ours never allows it: see above).
    monkeypatch.setattr(type(admin.site._registry[WebhookEndpoint]), "has_delete_permission", lambda *args: True)

    response = staff_client.get(delete_page(endpoint))

    assert response.status_code == 200
    html = response.text
    assert "This webhook endpoint will also be deleted from Stripe." in " ".join(html.split())
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert inline_scripts(html) == []
    assert HANDLER_ATTRIBUTE.findall(html) == []
    spinner_script = re.search(r'<script src="([^"]*admin-busy-spinner\.js)" defer>', html).group(1)
    served = staff_client.get(spinner_script)
    assert served.status_code == 200
    assert b'getElementById("div_spinner")' in b"".join(served.streaming_content)
    assert '<div id="div_spinner" hidden>' in html
