import pytest

from tests.factories import TEST_PASSWORD, DoctorFactory, PatientFactory, StaffFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters live in the cache; no test inherits another's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _force_login_gives_the_second_factor(monkeypatch):
    """force_login skips the password; for staff and doctors it skips the second factor too, so
    the many tests about what they do after logging in need not type a code. The session is
    marked verified with a confirmed authenticator app, as the code page would have done.
    tests/accounts/test_two_factor.py goes through the real log-in instead, as the e2e tests do."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.two_factor import two_factor_required

    force_login = Client.force_login

    def force_login_with_second_factor(self, user, backend=None):
        force_login(self, user, backend)
        if two_factor_required(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            device = device or TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login_with_second_factor)


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


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only need real row locks; on SQLite they are skipped, not failed."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def standin_process():
    """One Stripe stand-in process for the session. A separate process, so time-machine in a
    test never moves Stripe's clock by accident."""
    from django.conf import settings

    from stripe_standin.testing import StandinProcess

    process = StandinProcess(api_key=settings.STRIPE_SECRET_KEY, webhook_secret=settings.STRIPE_WEBHOOK_SECRET)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def standin(standin_process, monkeypatch):
    """A fresh stand-in that withholds its events (the test delivers them), with every Stripe call
    of the app and of dj-stripe pointed at it."""
    import stripe

    from tests.payments.standin import Standin

    client = Standin(standin_process)
    client.control("reset")
    client.control("config", withhold=True, webhook_url="")
    monkeypatch.setattr(stripe, "api_base", standin_process.url)
    return client


@pytest.fixture
def webhook_endpoint(db):
    from payments.webhooks import webhook_endpoint_ensure

    return webhook_endpoint_ensure(base_url="http://testserver")
