"""API tokens on the profile page: create one (its secret shown once), see the live ones, revoke."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken
from hospital.timefmt import format_date, format_short
from tests.factories import DoctorFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")
CREATE = reverse("accounts:api_token_create")


def revoke_url(token: ApiToken) -> str:
    return reverse("accounts:api_token_revoke", args=[token.token_key])


def secret_on(page: str) -> str:
    return re.search(r'id="token-secret"[^>]*value="([^"]+)"', page).group(1)


def api_me(secret: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client.get("/api/v1/me/")


def test_create_use_and_revoke_a_token(patient_client, patient):
    created = patient_client.post(CREATE, {"name": "My phone", "days": "30"})

    assert created.status_code == 200
    secret = secret_on(created.text)
    assert secret.startswith("nbh_")
    assert f"Authorization: Bearer {secret}" in created.text
    assert "the only time it is shown" in created.text
    assert "no-store" in created.headers["Cache-Control"]
    token = ApiToken.objects.get(user=patient)
    assert token.name == "My phone"
    assert dt.timedelta(days=29, hours=23) < token.expiry - timezone.now() <= dt.timedelta(days=30)

    me = api_me(secret)
    assert me.status_code == 200
    assert me.json()["email"] == "pat@example.com"

    page = patient_client.get(PROFILE).text
    assert "My phone" in page and "Not yet" not in page  # the call above is its first use
    assert secret not in page

    revoked = patient_client.post(revoke_url(token), follow=True)
    assert revoked.redirect_chain == [(f"{PROFILE}#api-tokens", 302)]
    assert "The token “My phone” was revoked" in revoked.text
    assert "You have no API tokens." in revoked.text
    assert not ApiToken.objects.exists()
    assert api_me(secret).status_code == 401


def test_the_secret_is_never_shown_again(patient_client, patient):
    secret = secret_on(patient_client.post(CREATE, {"name": "Laptop", "days": "90"}).text)
    token = ApiToken.objects.get(user=patient)

    for page in (patient_client.get(PROFILE), patient_client.get(PROFILE, follow=True)):
        assert secret not in page.text
        assert token.token_key in page.text  # only its short id, in the revoke button's address
    assert not ApiToken.objects.filter(digest__contains=secret).exists()


def test_the_lifetime_defaults_to_90_days_and_offers_the_services_choices(patient_client):
    page = patient_client.get(PROFILE).text

    options = re.findall(r'<option value="(\d+)"( selected)?>', page)
    assert [int(value) for value, _ in options] == list(services.API_TOKEN_LIFETIMES_DAYS)
    assert dict(options)["90"] == " selected"
    assert '<label for="id_name">Token name</label>' in page
    assert '<label for="id_days">Expires after</label>' in page


def test_another_users_token_cannot_be_revoked(patient_client):
    other = PatientFactory(email="other@example.com")
    theirs, secret = ApiToken.objects.create(user=other, name="Their phone")

    response = patient_client.post(revoke_url(theirs))

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
    assert api_me(secret).status_code == 200
    assert "Their phone" not in patient_client.get(PROFILE).text


def test_an_unknown_or_expired_token_is_a_404(patient_client, patient):
    expired, _ = ApiToken.objects.create(user=patient, name="Old", expiry=dt.timedelta(days=-1))

    assert patient_client.post(reverse("accounts:api_token_revoke", args=["nbh_nosuchkey"])).status_code == 404
    assert patient_client.post(revoke_url(expired)).status_code == 404
    assert "Old" not in patient_client.get(PROFILE).text  # only live tokens are listed


def test_a_blank_name_or_an_unoffered_lifetime_is_refused_on_the_form(patient_client):
    response = patient_client.post(CREATE, {"name": "  ", "days": "7"})

    assert response.status_code == 400
    assert "This field is required." in response.text
    assert "Select a valid choice. 7 is not one of the available choices." in response.text
    assert not ApiToken.objects.exists()
    assert 'id="token-secret"' not in response.text


def test_the_most_tokens_allowed_is_said_in_words(patient_client, patient):
    for n in range(services.API_TOKENS_PER_USER):
        ApiToken.objects.create(user=patient, name=f"t{n}")

    response = patient_client.post(CREATE, {"name": "One more", "days": "90"})

    assert response.status_code == 400
    assert f"You have {services.API_TOKENS_PER_USER} tokens, the most allowed." in response.text
    assert ApiToken.objects.filter(user=patient).count() == services.API_TOKENS_PER_USER


def test_revoking_needs_a_post_with_the_csrf_token(patient):
    token, _ = ApiToken.objects.create(user=patient, name="Phone")
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient)

    assert client.get(revoke_url(token)).status_code == 405
    assert client.post(revoke_url(token)).status_code == 403
    assert client.post(CREATE, {"name": "x", "days": "90"}).status_code == 403
    assert ApiToken.objects.filter(user=patient).count() == 1
    page = client.get(PROFILE).text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post(revoke_url(token), {"csrfmiddlewaretoken": csrf}).status_code == 302
    assert not ApiToken.objects.exists()


def test_visitors_are_sent_to_log_in(client):
    token, _ = ApiToken.objects.create(user=PatientFactory(), name="Phone")

    for response in (client.post(CREATE, {"name": "x", "days": "90"}), client.post(revoke_url(token))):
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    assert ApiToken.objects.count() == 1


def _user_on_a_clock(role: str):
    if role == "doctor":
        return DoctorFactory(timezone="Asia/Tokyo").user, "Asia/Tokyo"
    if role == "patient":
        user = PatientFactory(email="ny@example.com", profile__timezone="America/New_York")
        return user, "America/New_York"
    return StaffFactory(email="clerk@example.com"), None  # staff: the hospital's zone


@pytest.mark.parametrize("role", ["doctor", "patient", "staff"])
def test_every_role_has_the_section_with_times_on_their_own_clock(client, settings, role):
    user, zone = _user_on_a_clock(role)
    zone = zone or settings.HOSPITAL_TIME_ZONE
    client.force_login(user)
    token, _ = ApiToken.objects.create(user=user, name="Script")
    used = timezone.now() - dt.timedelta(hours=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=used)

    page = client.get(PROFILE).text

    assert 'id="api-tokens"' in page and '<th scope="row" class="token-name">Script</th>' in page
    assert f"(dates and times in {zone})" in page
    for moment, shown in ((token.created, format_date), (token.expiry, format_date), (used, format_short)):
        assert f'<time datetime="{moment.isoformat()}">{shown(moment, zone)}</time>' in page
    if role == "doctor":
        assert format_short(used, zone).endswith(" JST")


def test_a_key_with_a_nul_byte_is_a_404_not_a_server_error(patient_client, patient):
    """PostgreSQL refuses NUL in a query: DELETE /api/v1/auth/tokens/<key>/ with one was a 500."""
    ApiToken.objects.create(user=patient, name="Phone")

    assert patient_client.post("/accounts/profile/api-tokens/nbh_a%00b/revoke/").status_code == 404
    client = APIClient()
    _, secret = ApiToken.objects.create(user=patient, name="Script")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.delete("/api/v1/auth/tokens/nbh_a%00b/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert ApiToken.objects.filter(user=patient).count() == 2
