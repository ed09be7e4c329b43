"""Every label on every page with a form names the field it is for (WCAG 1.3.1, 4.1.2): a
`for` that points at nothing leaves the field unnamed for screen readers and unclickable."""

import pytest
from django.urls import reverse

from tests.factories import DoctorFactory, SlotFactory, SpecialtyFactory
from tests.html_checks import assert_labels_name_fields

pytestmark = pytest.mark.django_db

VISITOR_PAGES = [
    "hospital:home",
    "hospital:doctor_list",
    "accounts:login",
    "accounts:signup",
    "accounts:password_reset",
    "prescriptions:verify",
]
PATIENT_PAGES = ["appointments:list", "accounts:profile", "accounts:password_change"]


@pytest.fixture(autouse=True)
def listed_doctor():
    """A specialty with a doctor, so the home page's specialty menu has something to offer."""
    return DoctorFactory(specialty=SpecialtyFactory(name="Cardiology"))


@pytest.mark.parametrize("name", VISITOR_PAGES)
def test_visitor_pages(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_labels_name_fields(response.text)


@pytest.mark.parametrize("name", PATIENT_PAGES)
def test_patient_pages(patient_client, name):
    response = patient_client.get(reverse(name))
    assert response.status_code == 200
    assert_labels_name_fields(response.text)


def test_the_booking_page(patient_client, listed_doctor):
    response = patient_client.get(reverse("appointments:book", args=[SlotFactory(doctor=listed_doctor).pk]))
    assert response.status_code == 200
    assert_labels_name_fields(response.text)
