"""The API's documentation pages (Swagger UI and ReDoc) render under the site's CSP with no inline
script, and the profile page's API tokens section works with the keyboard and passes axe."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import AxeAudit, log_in
from tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Each page's `securitypolicyviolation` events, kept where the test can read them (an init script
# runs before the page's own and is not subject to its CSP).
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${where})`);
});
"""
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I)


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


class PageProblems:
    """Console errors, uncaught exceptions and CSP violations while a page loads and renders."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_CSP_VIOLATIONS)
        page.on("console", lambda msg: self.console.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.console.append(f"uncaught: {exc}"))

    def assert_none(self) -> None:
        violations = self.page.evaluate("window.__cspViolations")
        assert (self.console, violations) == ([], [])


def open_docs_page(page, url: str):
    problems = PageProblems(page)
    response = page.goto(url)
    assert response.status == 200
    csp = directives(response.headers["content-security-policy"])
    assert "'self'" in csp["script-src"]
    assert not {"'unsafe-inline'", "'unsafe-eval'"} & set(csp["script-src"])
    assert csp["object-src"] == ["'none'"]
    html = response.text()
    assert INLINE_SCRIPT.findall(html) == []
    assert re.search(r"<script\b[^>]*\bsrc=", html)  # the UI itself, from our own static files
    return problems


def test_swagger_ui_renders_every_operation_under_the_csp(live_server, page, screenshot):
    problems = open_docs_page(page, f"{live_server.url}/api/v1/docs/")

    me = page.locator('.opblock-summary-path[data-path="/api/v1/me/"]')
    expect(me).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Northbridge Hospital API")
    page.wait_for_load_state("networkidle")
    screenshot("api-docs")
    problems.assert_none()


def test_swagger_ui_tries_an_operation_with_a_token(live_server, page):
    """Authorize with a Bearer token and run GET /api/v1/me/ from the page: the CSP lets it call us."""
    patient = PatientFactory(email="pat@example.com")
    _, secret = ApiToken.objects.create(user=patient, name="docs page")
    problems = open_docs_page(page, f"{live_server.url}/api/v1/docs/")

    page.get_by_role("button", name="Authorize").first.click()
    bearer = page.locator("input[aria-label='auth-bearer-value']")
    bearer.fill(secret)
    page.locator(".auth-container", has=bearer).get_by_role("button", name="Apply credentials").click()
    page.get_by_role("button", name="Close").first.click()
    me = page.locator("#operations-me-me_retrieve")
    me.locator(".opblock-summary-path").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()

    expect(me.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(me.locator(".live-responses-table .microlight").first).to_contain_text('"email": "pat@example.com"')
    problems.assert_none()


def test_redoc_renders_the_reference_under_the_csp(live_server, page):
    problems = open_docs_page(page, f"{live_server.url}/api/v1/reference/")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Northbridge Hospital API")
    expect(page.get_by_role("heading", name=re.compile("Me", re.I)).first).to_be_attached()
    page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-reference.png"))  # the first screen: the page is long
    problems.assert_none()


# What axe still finds in Swagger UI's own markup, and we leave to its makers: each operation's
# summary is a <button> with the operation's deep link (<a>) inside it. Our stylesheet fixes its
# colours' contrast and its small links' and buttons' size; ReDoc passes as it is.
SWAGGER_UI_OWN = {"nested-interactive"}


def failing_rules(audit: AxeAudit) -> set[str]:
    return {line.split()[0] for lines in audit.found.values() for line in lines if not line.startswith("      ")}


def test_the_docs_pages_pass_axe_but_for_swagger_uis_own_markup(live_server, page):
    swagger, redoc = AxeAudit(page), AxeAudit(page)
    open_docs_page(page, f"{live_server.url}/api/v1/docs/")
    me = page.locator('.opblock-summary-path[data-path="/api/v1/me/"]')
    expect(me).to_be_visible()
    swagger.check("swagger")
    me.click()  # an operation opened: its parameters and responses
    expect(page.locator("#operations-me-me_retrieve .responses-wrapper")).to_be_visible()
    swagger.check("swagger, an operation open")
    open_docs_page(page, f"{live_server.url}/api/v1/reference/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Northbridge Hospital API")
    redoc.check("redoc")

    report = "\n".join(line for lines in swagger.found.values() for line in lines)
    assert failing_rules(swagger) <= SWAGGER_UI_OWN, report
    redoc.assert_clean()


def test_api_tokens_on_the_profile_page_with_the_keyboard(live_server, page, screenshot):
    """Create a token (the secret shown once), see it listed, revoke it: no mouse, axe-clean."""
    patient = PatientFactory(email="pat@example.com", first_name="Pat")
    audit = AxeAudit(page)
    problems = PageProblems(page)
    log_in(page, live_server.url, "pat@example.com")
    page.goto(f"{live_server.url}/accounts/profile/#api-tokens")
    audit.check("profile, no tokens")

    page.get_by_label("Token name").focus()
    page.keyboard.type("My phone")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Expires after")).to_be_focused()
    expect(page.get_by_label("Expires after")).to_have_value("90")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Create token")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Your new API token")).to_be_visible()
    secret = page.get_by_label("The token").input_value()
    assert secret.startswith("nbh_")
    expect(page.locator(".token-example")).to_have_text(f"Authorization: Bearer {secret}")
    audit.check("the new token's page")
    screenshot("api-token-created")

    page.get_by_role("link", name=re.compile("back to your details")).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("row", name=re.compile("My phone"))).to_be_visible()
    assert secret not in page.content()
    ApiToken.objects.create(user=patient, name="Pharmacy reminders script")
    page.reload()
    audit.check("profile with tokens")
    page.locator("#api-tokens").scroll_into_view_if_needed()
    screenshot("profile-api-tokens")

    revoke = page.get_by_role("button", name="Revoke the token “My phone”")
    revoke.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The token “My phone” was revoked")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("My phone"))).to_have_count(0)
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["Pharmacy reminders script"]
    audit.assert_clean()
    problems.assert_none()
