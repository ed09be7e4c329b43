"""Two-factor log-in for staff and doctors, through the real pages: password, then set up an
authenticator app (QR code or typed key) or enter its code; what an unverified session can and
cannot reach (portal, admin, API); token creation with `otp`; a reset by an administrator."""

import datetime as dt
import re
from base64 import b32decode
from html import unescape
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import CODE_REUSED, CODE_THROTTLED, CODE_WRONG, totp_code_check, totp_demo_device_set
from accounts.two_factor import second_factor_missing
from hospital.models import AuditEntry
from tests.concurrency import run_concurrently
from tests.factories import TEST_PASSWORD, DoctorFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 2, 9, 0, 10, tzinfo=dt.UTC)  # 10 s into a 30 s step
CODE_PAGE_TEXT = "Enter the 6-digit code from your authenticator app"
KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test secret, as hex


def app_code(key_hex: str = KEY) -> str:
    """The code an authenticator app with this secret shows now (RFC 6238, independent of ours)."""
    return f"{totp(bytes.fromhex(key_hex)):06d}"


def device_for(user, key_hex: str = KEY) -> TOTPDevice:
    return totp_demo_device_set(user=user, key=key_hex)


def log_in_with_password(client: Client, user, next_url: str = ""):
    data = {"username": user.email, "password": TEST_PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def send_code(client: Client, code: str, *, path: str = "/accounts/two-factor/", next_url: str = ""):
    return client.post(path, {"code": code, "next": next_url})


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_a_first_log_in_sets_up_the_app_from_the_qr_code_or_typed_key_then_opens_the_admin(frozen):
    staff = StaffFactory(email="nurse.admin@example.com")
    client = Client()

    response = log_in_with_password(client, staff, next_url="/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/two-factor/?next=%2Fadmin%2F"
    response = client.get(response["Location"])
    assert response["Location"] == "/accounts/two-factor/set-up/?next=%2Fadmin%2F"  # no app yet

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Set up two-factor log-in" in html
    assert "no-store" in page["Cache-Control"]  # the secret never comes back from the cache
    assert html.count("<svg") == 1 and "<img" not in html.split("<main", 1)[1]  # the QR code is inline
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    typed_key = re.search(r'<code class="totp-secret">([A-Z2-7 ]+)</code>', html).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", typed_key)  # groups of four, for typing
    device = TOTPDevice.objects.get(user=staff)
    assert not device.confirmed
    assert b32decode(typed_key.replace(" ", "")).hex() == device.key
    # The otpauth:// URI in the QR code: issuer = the hospital, account = the e-mail address.
    uri = unquote(device.config_url)
    assert uri.startswith("otpauth://totp/Northbridge Hospital:nurse.admin@example.com?")
    assert parse_qs(urlsplit(device.config_url).query)["issuer"] == ["Northbridge Hospital"]
    assert client.get("/accounts/two-factor/set-up/").content.decode().count(typed_key) == 1  # same secret on reload

    response = send_code(client, app_code(device.key), path="/accounts/two-factor/set-up/", next_url="/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    admin = client.get("/admin/")
    assert admin.status_code == 200
    assert "Two-factor log-in is set up" in admin.content.decode()


def test_a_doctor_with_an_app_is_held_at_the_code_page_until_the_code_then_reaches_the_portal(frozen):
    doctor = DoctorFactory()
    device_for(doctor.user)
    client = Client()

    response = log_in_with_password(client, doctor.user)
    assert response["Location"] == "/accounts/two-factor/?next=%2Fportal%2F"
    page = client.get(response["Location"])
    assert CODE_PAGE_TEXT in page.content.decode()
    assert 'name="code"' in page.content.decode() and 'autocomplete="one-time-code"' in page.content.decode()

    # Unverified: every page leads to the code page; the admin's own log-in page too; the API says 403.
    for path in ("/portal/", "/appointments/", "/admin/", "/admin/login/", "/accounts/profile/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/two-factor/?next="), path
    api = client.get("/api/v1/me/")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "second_factor_required"
    assert "authenticator app" in api.json()["error"]["message"]

    response = send_code(client, app_code(), next_url="/portal/")
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    assert client.get("/api/v1/me/").json()["role"] == "doctor"


def test_a_wrong_code_is_refused_and_wrong_codes_in_a_row_make_the_next_try_wait(frozen, caplog):
    staff = StaffFactory()
    device_for(staff)
    client = Client()
    log_in_with_password(client, staff)
    wrong = f"{(int(app_code()) + 1) % 1_000_000:06d}"

    page = send_code(client, wrong)
    assert page.status_code == 200
    assert CODE_WRONG in unescape(page.content.decode())
    assert "Two-factor code refused for user" in caplog.text
    # At once, even the right code waits: 1 s after one failure, then 2, 4, 8 … (django-otp).
    page = send_code(client, app_code())
    assert "Too many wrong codes. Wait 1 second, then enter" in page.content.decode()
    assert client.get("/admin/").status_code == 302
    frozen.shift(1)
    for _ in range(3):
        send_code(client, wrong)
        frozen.shift(60)
    send_code(client, wrong)
    assert "Wait 16 seconds" in send_code(client, app_code()).content.decode()
    assert TOTPDevice.objects.get(user=staff).throttling_failure_count == 5

    frozen.shift(16)
    assert send_code(client, app_code())["Location"] == "/"
    assert client.get("/admin/").status_code == 200
    assert TOTPDevice.objects.get(user=staff).throttling_failure_count == 0


def test_not_six_digits_is_explained_and_spaces_between_digits_are_fine(frozen):
    staff = StaffFactory()
    device_for(staff)
    client = Client()
    log_in_with_password(client, staff)
    assert "numbers only" in send_code(client, "12ab56").content.decode()
    assert "Enter the 6-digit code from your authenticator app." in send_code(client, "").content.decode()
    assert TOTPDevice.objects.get(user=staff).throttling_failure_count == 0  # not a guess
    code = app_code()
    assert send_code(client, f"{code[:3]} {code[3:]}").status_code == 302


def test_a_code_is_accepted_once(frozen):
    staff = StaffFactory()
    device_for(staff)
    first = Client()
    log_in_with_password(first, staff)
    code = app_code()
    assert send_code(first, code).status_code == 302

    second = Client()  # someone who saw the code, or the same person again within 30 s
    log_in_with_password(second, staff)
    page = send_code(second, code)
    assert CODE_REUSED in unescape(page.content.decode())
    assert second.get("/admin/").status_code == 302

    frozen.shift(30 + 1)  # the app's next code (the throttle's 1 s has passed too)
    assert send_code(second, app_code()).status_code == 302
    assert second.get("/admin/").status_code == 200


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_code_sent_twice_at_once_lets_in_only_one():
    staff = StaffFactory()
    device = device_for(staff)
    code = app_code()

    def check():
        return totp_code_check(device=TOTPDevice.objects.get(pk=device.pk), code=code)

    results = run_concurrently(check, threads=4)
    accepted = [result for result in results if isinstance(result, TOTPDevice)]
    refused = [str(result) for result in results if not isinstance(result, TOTPDevice)]
    assert len(accepted) == 1, results
    # The first to wait for the lock finds the code used; that counts as a wrong code, so the
    # ones after it may already be told to wait.
    assert CODE_REUSED in refused
    assert set(refused) <= {CODE_REUSED, CODE_THROTTLED.format(wait="1 second")}, refused
    assert TOTPDevice.objects.get(pk=device.pk).last_t == accepted[0].last_t


def test_a_patient_logs_in_with_the_password_alone():
    patient = PatientFactory()
    client = Client()
    response = log_in_with_password(client, patient, next_url="/appointments/")
    assert response["Location"] == "/appointments/"
    assert client.get("/appointments/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    assert not TOTPDevice.objects.exists()


def test_logout_the_webhook_static_files_and_healthz_stay_reachable_while_the_code_is_awaited(webhook_endpoint):
    staff = StaffFactory()
    device_for(staff)
    client = Client()
    log_in_with_password(client, staff)
    webhook = client.post(f"/stripe/webhook/{webhook_endpoint.djstripe_uuid}/", "{}", content_type="application/json")
    assert not webhook.get("Location", "").startswith("/accounts/two-factor/")
    assert webhook.status_code == 400  # dj-stripe's answer to an unsigned body: it reached the endpoint
    # Static files and the load balancers' health check are never sent to the code page.
    for path in ("/static/css/site.css", "/healthz"):
        assert not client.get(path).get("Location", "").startswith("/accounts/two-factor/"), path
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")  # logged out, not held


@pytest.fixture
def token_request():
    def post(user, **extra):
        body = {"email": user.email, "password": TEST_PASSWORD, "name": "Ward tablet", **extra}
        return Client().post("/api/v1/auth/tokens/", body, content_type="application/json")

    return post


def test_a_staff_or_doctor_token_needs_the_code_too(frozen, token_request):
    doctor = DoctorFactory()
    device_for(doctor.user)

    missing = token_request(doctor.user)
    assert missing.status_code == 400
    assert "authenticator app" in missing.json()["error"]["fields"]["otp"][0]
    wrong = token_request(doctor.user, otp=f"{(int(app_code()) + 1) % 1_000_000:06d}")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == CODE_WRONG
    frozen.shift(2)
    made = token_request(doctor.user, otp=app_code())
    assert made.status_code == 201
    # The token works on its own (it was made with the second factor); the same code makes no other.
    me = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {made.json()['token']}")
    assert me.status_code == 200 and me.json()["role"] == "doctor"
    again = token_request(doctor.user, otp=app_code())
    assert again.status_code == 401 and again.json()["error"]["message"] == CODE_REUSED


def test_a_token_for_a_staff_member_without_an_app_or_for_a_patient(token_request):
    no_app = token_request(StaffFactory())
    assert no_app.status_code == 400
    no_app = token_request(StaffFactory(), otp="123456")
    assert no_app.status_code == 401
    assert "no authenticator app yet" in no_app.json()["error"]["message"]
    assert token_request(PatientFactory()).status_code == 201


def test_an_administrator_resets_a_doctors_app_and_the_doctor_sets_up_a_new_one(frozen):
    doctor = DoctorFactory()
    device_for(doctor.user)
    doctors_browser = Client()
    log_in_with_password(doctors_browser, doctor.user)
    send_code(doctors_browser, app_code())
    assert doctors_browser.get("/portal/").status_code == 200

    administrator = StaffFactory()
    admin = Client()
    admin.force_login(administrator)
    devices = admin.get("/admin/otp_totp/totpdevice/")
    assert doctor.user.email in devices.content.decode()
    assert KEY not in devices.content.decode()  # staff never see a secret
    response = admin.post(
        "/admin/accounts/user/", {"action": "reset_two_factor", "_selected_action": [doctor.user.pk]}, follow=True
    )
    assert "Two-factor log-in reset for 1 account(s)" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=doctor.user).exists()
    entry = AuditEntry.objects.get(record_type="accounts.user", record_id=str(doctor.user.pk))
    assert entry.actor == administrator
    assert entry.summary.startswith("Two-factor log-in reset")

    # The session verified with the old phone is no longer: the next page is the set-up.
    response = doctors_browser.get("/portal/")
    assert response["Location"] == "/accounts/two-factor/?next=%2Fportal%2F"
    assert doctors_browser.get(response["Location"])["Location"].startswith("/accounts/two-factor/set-up/")


def test_deleting_a_device_in_the_admin_is_a_reset_too_and_needs_the_permission():
    doctor = DoctorFactory()
    device = device_for(doctor.user)
    administrator = StaffFactory()
    admin = Client()
    admin.force_login(administrator)
    response = admin.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=doctor.user).exists()
    assert AuditEntry.objects.filter(record_id=str(doctor.user.pk), actor=administrator).count() == 1

    device_for(doctor.user)
    front_desk = StaffFactory(is_superuser=False)
    front_desk.groups.add(_group("Front desk"))
    desk = Client()
    desk.force_login(front_desk)
    assert desk.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"}).status_code == 403
    users = desk.get("/admin/accounts/user/").content.decode()
    assert "reset_two_factor" not in users  # the action is not offered without the permission
    assert TOTPDevice.objects.filter(user=doctor.user).exists()


def _group(name):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name)


def test_the_demo_code_command_prints_a_code_that_logs_in_and_refuses_without_debug(settings, capsys):
    doctor = DoctorFactory()
    device_for(doctor.user)
    with pytest.raises(CommandError, match="only runs with DJANGO_DEBUG=true"):
        call_command("demo_totp_code", doctor.user.email)

    settings.DEBUG = True
    call_command("demo_totp_code", doctor.user.email.upper())
    out, err = capsys.readouterr()
    assert re.fullmatch(r"\d{6}\n", out)
    assert "each code can be used once" in err
    client = Client()
    log_in_with_password(client, doctor.user)
    assert send_code(client, out.strip()).status_code == 302
    assert not second_factor_missing(_verified_user(client))
    with pytest.raises(CommandError, match="no authenticator app"):
        call_command("demo_totp_code", PatientFactory().email)


def _verified_user(client: Client):
    """The user of the client's session as OTPMiddleware sees it, from a real request."""
    return client.get("/accounts/profile/").wsgi_request.user
