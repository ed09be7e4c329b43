"""The patient's own time zone: chosen at sign-up (preset from the browser where scripts run,
the hospital's without them), kept on the profile, editable."""

import pytest
from django.urls import reverse

from accounts.models import User
from tests.accounts.test_signup import signup_data
from tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

SIGNUP = reverse("accounts:signup")
PROFILE = reverse("accounts:profile")


def test_sign_up_offers_a_labelled_zone_select_preset_to_the_hospitals_zone(client, settings):
    settings.HOSPITAL_TIME_ZONE = "Asia/Tokyo"

    text = client.get(SIGNUP).text

    assert '<label for="id_timezone">Your time zone</label>' in text
    assert '<select name="timezone" data-browser-time-zone="" ' in text
    assert '<option value="Asia/Tokyo" selected>Asia/Tokyo</option>' in text
    assert '<option value="America/New_York">America/New York</option>' in text
    assert "js/browser-time-zone.js" in text  # where scripts run it presets the browser's zone


def test_sign_up_keeps_the_zone_chosen(client):
    client.post(SIGNUP, signup_data(timezone="America/New_York"))

    assert User.objects.get().patient_profile.timezone == "America/New_York"


def test_a_zone_that_is_not_an_iana_name_is_a_form_error_and_creates_nothing(client):
    response = client.post(SIGNUP, signup_data(timezone="Mars/Olympus_Mons"))

    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not User.objects.exists()
    assert "js/browser-time-zone.js" not in response.text  # the patient's own choice is not overridden


def test_the_service_refuses_an_unknown_zone_with_a_message():
    from django.core.exceptions import ValidationError

    from accounts.services import patient_register

    with pytest.raises(ValidationError) as error:
        patient_register(
            email="a@example.com",
            password="analytical-engine-42",
            first_name="A",
            last_name="B",
            date_of_birth="1990-01-01",
            timezone="Nowhere/Special",
        )
    assert "not an IANA time zone name" in str(error.value.message_dict["timezone"])
    assert not User.objects.exists()


def test_the_patient_sees_and_changes_their_zone_on_the_profile_page(patient_client, patient):
    text = patient_client.get(PROFILE).text
    assert '<label for="id_timezone">Your time zone</label>' in text
    assert '<option value="Europe/London" selected>' in text
    assert "js/browser-time-zone.js" not in text  # the saved zone is never replaced by the browser's

    response = patient_client.post(
        PROFILE,
        {"first_name": "Pat", "last_name": "Jones", "date_of_birth": "1985-02-03", "timezone": "Asia/Tokyo"},
        follow=True,
    )

    assert "Your details were saved." in response.text
    patient.patient_profile.refresh_from_db()
    assert patient.patient_profile.timezone == "Asia/Tokyo"
    assert '<option value="Asia/Tokyo" selected>' in response.text


def test_a_doctor_has_no_zone_field_on_their_profile_page(client):
    client.force_login(DoctorFactory().user)
    assert 'name="timezone"' not in client.get(PROFILE).text


def test_the_site_refuses_a_hospital_zone_it_cannot_offer(settings):
    from accounts.checks import hospital_time_zone_setting

    settings.HOSPITAL_TIME_ZONE = "Europe/Atlantis"
    assert [error.id for error in hospital_time_zone_setting(None)] == ["accounts.E001"]


def test_staff_pick_a_patients_zone_from_the_list_in_the_admin(staff_client, patient):
    url = reverse("admin:accounts_patientprofile_change", args=[patient.patient_profile.pk])
    data = {"user": patient.pk, "date_of_birth": "1990-05-17"}

    assert '<option value="Asia/Tokyo">Asia/Tokyo</option>' in staff_client.get(url).text
    refused = staff_client.post(url, data | {"timezone": "Mars/Olympus_Mons"})
    saved = staff_client.post(url, data | {"timezone": "Asia/Tokyo"})

    assert "Select a valid choice" in refused.text
    assert saved.status_code == 302
    patient.patient_profile.refresh_from_db()
    assert patient.patient_profile.timezone == "Asia/Tokyo"
