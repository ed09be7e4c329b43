import datetime as dt

import pytest
from django.db import IntegrityError
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from accounts.access import get_for_user_or_404, role_required
from accounts.models import Role, User
from tests.factories import DoctorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_patient_edits_their_details(patient_client, patient):
    response = patient_client.post(
        reverse("accounts:profile"),
        {
            "first_name": "Patricia",
            "last_name": "Jones",
            "phone": "+1 555 0199",
            "date_of_birth": "1985-02-03",
            "timezone": "Europe/London",
        },
        follow=True,
    )

    assert "Your details were saved." in response.text
    patient.refresh_from_db()
    assert (patient.first_name, patient.phone) == ("Patricia", "+1 555 0199")
    assert patient.patient_profile.date_of_birth == dt.date(1985, 2, 3)


def test_profile_edit_refuses_blank_names(patient_client, patient):
    response = patient_client.post(reverse("accounts:profile"), {"first_name": "", "last_name": "", "phone": ""})
    assert response.status_code == 200
    assert "This field is required." in response.text
    patient.refresh_from_db()
    assert patient.first_name == "Pat"


class TestProfileWordingFitsTheRole:
    def test_a_patient_is_reached_about_their_appointments(self, patient_client):
        page = patient_client.get(reverse("accounts:profile")).text

        assert "So the hospital can reach you about your appointments." in page
        assert "Date of birth" in page and "Your time zone" in page

    def test_a_doctor_is_reached_about_their_clinic_and_sees_what_staff_keep(self, client):
        doctor = DoctorFactory(timezone="Asia/Tokyo")
        client.force_login(doctor.user)

        page = client.get(reverse("accounts:profile")).text

        assert "So the appointments desk can reach you about your clinic: a changed or urgent visit." in page
        assert "your appointment." not in page and "Date of birth" not in page
        assert "your time zone, Asia/Tokyo, are kept by the hospital's staff" in page
        assert f'href="{reverse("portal:schedule")}"' in page

    def test_staff_are_reached_by_colleagues(self, staff_client):
        page = staff_client.get(reverse("accounts:profile")).text

        assert "So colleagues can reach you about the work you handle." in page
        assert "your appointment" not in page

    def test_a_doctor_saves_their_details_without_patient_fields(self, client):
        doctor = DoctorFactory()
        client.force_login(doctor.user)

        response = client.post(
            reverse("accounts:profile"),
            {"first_name": "Hiro", "last_name": "Tanaka", "phone": "+81 3 0000"},
            follow=True,
        )

        assert "Your details were saved." in response.text
        doctor.user.refresh_from_db()
        assert (doctor.user.first_name, doctor.user.phone) == ("Hiro", "+81 3 0000")


def test_profile_needs_a_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("accounts:login"))


class TestDatabaseRules:
    def test_admin_access_goes_with_the_staff_role(self):
        with pytest.raises(IntegrityError):
            User.objects.bulk_create(
                [User(email="d@example.com", first_name="D", last_name="X", role=Role.DOCTOR, is_staff=True)]
            )

    def test_email_is_unique_whatever_the_letter_case(self):
        UserFactory(email="case@example.com")
        with pytest.raises(IntegrityError):
            User.objects.bulk_create([User(email="CASE@example.com", first_name="C", last_name="X")])


class TestAccessHelpers:
    def test_get_for_user_or_404_hides_what_the_user_may_not_see(self, patient, staff):
        from django.http import Http404

        hidden = DoctorFactory(is_active=False)
        with pytest.raises(Http404):
            get_for_user_or_404(type(hidden).objects, user=patient, pk=hidden.pk)
        assert get_for_user_or_404(type(hidden).objects, user=staff, pk=hidden.pk) == hidden

    @pytest.mark.parametrize(("role", "status"), [(Role.DOCTOR, 200), (Role.PATIENT, 403), (Role.STAFF, 403)])
    def test_role_required_lets_in_only_the_named_roles(self, role, status):
        from django.core.exceptions import PermissionDenied

        view = role_required(Role.DOCTOR)(lambda request: HttpResponse("ok"))
        request = RequestFactory().get("/portal/")
        request.user = UserFactory(role=role)
        if status == 200:
            assert view(request).status_code == 200
        else:
            with pytest.raises(PermissionDenied):
                view(request)

    def test_role_required_sends_visitors_to_log_in(self):
        from django.contrib.auth.models import AnonymousUser

        view = role_required(Role.DOCTOR)(lambda request: HttpResponse("ok"))
        request = RequestFactory().get("/portal/")
        request.user = AnonymousUser()
        response = view(request)
        assert response.status_code == 302
        assert response.headers["Location"] == "/accounts/login/?next=/portal/"
