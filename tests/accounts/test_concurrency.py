import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.services import patient_register
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_sign_ups_with_one_email_create_one_account_and_a_clear_error_for_the_rest():
    def sign_up():
        return patient_register(
            email="race@example.com",
            password="a-long-enough-secret-7",
            first_name="Race",
            last_name="Condition",
            date_of_birth=dt.date(1990, 1, 1),
        )

    results = run_concurrently(sign_up, threads=10)

    created = [r for r in results if isinstance(r, User)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(created) == 1
    assert len(refused) == 9
    assert all("already exists" in str(error) for error in refused)
    assert User.objects.filter(email="race@example.com").count() == 1
