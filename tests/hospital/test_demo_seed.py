import pytest
from django.core.management import call_command

from accounts.models import User
from hospital.demo import DEMO_PASSWORD
from hospital.models import Doctor, Specialty, TimeOff, WorkingHours

pytestmark = pytest.mark.django_db


def table_sizes() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (User, Doctor, Specialty, WorkingHours, TimeOff))


def test_seed_demo_is_idempotent_and_prints_the_logins(capsys):
    call_command("seed_demo")
    first = table_sizes()
    output = capsys.readouterr().out

    call_command("seed_demo")
    assert table_sizes() == first

    assert "admin@example.com" in output
    assert "patient@example.com" in output
    assert DEMO_PASSWORD in output
    assert Doctor.objects.count() >= 8
    assert Doctor.objects.values("timezone").distinct().count() >= 3
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.is_staff and admin.check_password(DEMO_PASSWORD)
    assert User.objects.get(email="patient@example.com").patient_profile
