import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import PatientProfile, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("accounts:signup")


def signup_data(**overrides) -> dict:
    return {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
        "date_of_birth": "1990-12-10",
        "timezone": "Europe/London",
        "password1": "analytical-engine-42",
        "password2": "analytical-engine-42",
    } | overrides


def test_sign_up_creates_a_patient_with_a_profile_and_logs_them_in(client):
    response = client.post(URL, signup_data(email="Ada@Example.COM"))

    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "ada@example.com"
    assert user.role == "patient"
    assert not user.is_staff
    assert user.patient_profile.date_of_birth == dt.date(1990, 12, 10)
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_sign_up_returns_to_the_page_the_patient_came_from(client):
    response = client.post(f"{URL}?next=/doctors/", signup_data() | {"next": "/doctors/"})
    assert response.headers["Location"] == "/doctors/"


def test_sign_up_ignores_a_next_url_on_another_site(client):
    response = client.post(URL, signup_data() | {"next": "https://evil.example.net/"})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("typed", ["taken@example.com", "TAKEN@example.com", "  Taken@Example.com "])
def test_taken_email_is_refused_whatever_the_letter_case(client, typed):
    UserFactory(email="taken@example.com")

    response = client.post(URL, signup_data(email=typed))

    assert response.status_code == 200
    assert "An account with this e-mail address already exists" in response.text
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "This password is too short"),
        ("password123", "This password is too common"),
        ("4815162342108", "This password is entirely numeric"),
        ("ada-lovelace", "The password is too similar"),
    ],
)
def test_weak_password_is_refused_and_nothing_is_written(client, password, message):
    response = client.post(URL, signup_data(password1=password, password2=password))

    assert response.status_code == 200
    assert message in response.text
    assert not User.objects.exists()
    assert not PatientProfile.objects.exists()


def test_mismatched_passwords_are_refused(client):
    response = client.post(URL, signup_data(password2="something-else-entirely"))
    assert "The two passwords do not match" in response.text
    assert not User.objects.exists()


def test_date_of_birth_in_the_future_is_refused(client):
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    response = client.post(URL, signup_data(date_of_birth=tomorrow.isoformat()))
    assert "Date of birth cannot be in the future" in response.text
    assert not User.objects.exists()


def test_missing_fields_are_named(client):
    response = client.post(URL, {})
    assert response.status_code == 200
    assert response.text.count("This field is required.") == 7  # every field but the optional phone


def test_an_over_long_email_is_a_form_error_not_a_crash(client):
    response = client.post(URL, signup_data(email="x" * 300 + "@example.com"))
    assert response.status_code == 200
    assert "Ensure this value has at most 254 characters" in response.text
    assert not User.objects.exists()


def test_the_service_itself_refuses_field_values_the_table_cannot_hold():
    from django.core.exceptions import ValidationError

    from accounts.services import patient_register

    with pytest.raises(ValidationError) as error:
        patient_register(
            email="x" * 300 + "@example.com",
            password="analytical-engine-42",
            first_name="Ada",
            last_name="L" * 200,
            date_of_birth=dt.date(1990, 1, 1),
        )
    assert set(error.value.message_dict) == {"email", "last_name"}
    assert not User.objects.exists()
