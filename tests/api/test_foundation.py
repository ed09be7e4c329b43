"""The API's shared behaviour: token log-in, the error shape, 401 before 403, the schema."""

import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.api.matrix import Row, check_row
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_an_anonymous_call_is_401_with_the_error_shape():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {
        "error": {"code": "not_authenticated", "message": "Authentication credentials were not provided.", "fields": {}}
    }


def test_a_client_logs_in_calls_with_its_token_and_logs_out(patient):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/tokens/",
        {"email": "PAT@example.com", "password": TEST_PASSWORD, "name": "My phone"},
        format="json",
    )
    assert response.status_code == 201, response.content
    secret = response.json()["token"]
    assert secret.startswith("nbh_")
    assert not ApiToken.objects.filter(digest__contains=secret).exists()  # only a hash is kept
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "pat@example.com"
    assert client.delete(f"/api/v1/auth/tokens/{response.json()['id']}/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_a_wrong_password_is_refused_without_a_token(patient):
    response = APIClient().post(
        "/api/v1/auth/tokens/", {"email": "pat@example.com", "password": "nope", "name": "x"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "The e-mail address or password is not right."
    assert not ApiToken.objects.exists()


def test_bad_input_names_each_field(patient):
    response = APIClient().post("/api/v1/auth/tokens/", {"email": "not-an-address", "days": 7}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"email", "password", "name", "days"}


def test_tokens_die_with_a_password_change_and_a_deactivation(world, api_as):
    client = api_as("patient")
    assert client.get("/api/v1/me/").status_code == 200
    world.patient.set_password("another-long-password-2026")
    world.patient.save()
    assert client.get("/api/v1/me/").status_code == 401
    client = api_as("doctor")
    world.doctor.user.is_active = False
    world.doctor.user.save()
    assert client.get("/api/v1/me/").status_code == 401
    assert not ApiToken.objects.filter(user=world.doctor.user).exists()


def test_another_users_token_cannot_be_revoked(world, api_as):
    _, _ = ApiToken.objects.create(user=world.other_patient, name="theirs")
    theirs = ApiToken.objects.get(user=world.other_patient)
    assert api_as("patient").delete(f"/api/v1/auth/tokens/{theirs.token_key}/").status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


SIGNED_IN = ["patient", "other_patient", "doctor", "other_doctor", "staff"]


def _patients_token_path(world) -> str:
    """A token of the patient's own, made once per world."""
    if not hasattr(world, "patient_token_key"):
        world.patient_token_key = ApiToken.objects.create(user=world.patient, name="phone")[0].token_key
    return f"/api/v1/auth/tokens/{world.patient_token_key}/"


ROWS = [
    Row("get", lambda w: "/api/v1/me/", {"anonymous": 401, **dict.fromkeys(SIGNED_IN, 200)}),
    Row("get", lambda w: "/api/v1/auth/tokens/", {"anonymous": 401, **dict.fromkeys(SIGNED_IN, 200)}),
    # Anyone may log in: the patient's own e-mail and password work whoever sends them.
    Row(
        "post",
        lambda w: "/api/v1/auth/tokens/",
        {"anonymous": 201, **dict.fromkeys(SIGNED_IN, 201)},
        body=lambda w: {"email": w.patient.email, "password": TEST_PASSWORD, "name": "phone"},
    ),
    Row(
        "delete",
        _patients_token_path,
        {"anonymous": 401, "patient": 204, **dict.fromkeys(["other_patient", "doctor", "other_doctor", "staff"], 404)},
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.method)
def test_account_permissions(world, api_as, row):
    check_row(world, row, api_as)


def test_the_schema_validates_with_no_warning(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_a_path_no_route_matches_is_a_json_404_under_the_api_and_the_sites_page_elsewhere(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_an_unexpected_fault_under_the_api_is_a_json_500_without_details(rf):
    from hospital.api.errors import server_error

    response = server_error(rf.get("/api/v1/me/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"
