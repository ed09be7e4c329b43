import pytest

from tests.factories import TEST_PASSWORD, DoctorFactory, PatientFactory, StaffFactory


@pytest.fixture
def patient(db):
    return PatientFactory(email="pat@example.com", first_name="Pat")


@pytest.fixture
def staff(db):
    return StaffFactory(email="staff@example.com")


@pytest.fixture
def doctor(db):
    return DoctorFactory()


@pytest.fixture
def patient_client(client, patient):
    client.force_login(patient)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def password():
    return TEST_PASSWORD
