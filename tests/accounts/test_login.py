import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")


def attempt(client, email: str, password: str, ip: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_log_in_with_email_in_any_letter_case(client, patient, password):
    response = attempt(client, "PAT@Example.com", password)
    assert response.status_code == 302
    assert client.get(reverse("accounts:profile")).context["user"] == patient


def test_wrong_password_says_so_plainly(client, patient):
    response = attempt(client, patient.email, "not-my-password")
    assert response.status_code == 200
    assert "do not match an account" in response.text


def test_log_out_is_a_post(client, patient):
    client.force_login(patient)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 302


class TestBruteForceLockout:
    def test_five_failures_lock_that_email_and_ip_pair_even_for_the_right_password(self, client, patient, password):
        for _ in range(5):
            attempt(client, patient.email, "wrong-guess")

        response = attempt(client, patient.email, password)

        assert response.status_code == 429
        assert "Log-in temporarily locked" in response.text
        assert "try again in <strong>15 minutes</strong>" in response.text
        assert "_auth_user_id" not in client.session

    def test_changing_letter_case_does_not_reset_the_count(self, client, patient, password):
        for typed in ["pat@example.com", "PAT@example.com", "Pat@Example.com", "pat@EXAMPLE.com", "PAT@EXAMPLE.COM"]:
            attempt(client, typed, "wrong-guess")
        assert attempt(client, patient.email, password).status_code == 429

    def test_the_same_email_from_another_ip_and_another_email_from_this_ip_still_log_in(
        self, client, patient, password
    ):
        other = UserFactory(email="other@example.com")
        for _ in range(5):
            attempt(client, patient.email, "wrong-guess")

        assert attempt(client, patient.email, password, ip="198.51.100.9").status_code == 302
        client.logout()
        assert attempt(client, other.email, password).status_code == 302

    def test_four_failures_do_not_lock(self, client, patient, password):
        for _ in range(4):
            attempt(client, patient.email, "wrong-guess")
        assert attempt(client, patient.email, password).status_code == 302

    def test_the_lock_lifts_after_the_cool_off(self, client, patient, password):
        with time_machine.travel(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC), tick=False):
            for _ in range(5):
                attempt(client, patient.email, "wrong-guess")
            assert attempt(client, patient.email, password).status_code == 429
        with time_machine.travel(dt.datetime(2026, 6, 1, 9, 16, tzinfo=dt.UTC), tick=False):
            assert attempt(client, patient.email, password).status_code == 302


def test_password_reset_by_email_end_to_end(client, patient):
    response = client.post(reverse("accounts:password_reset"), {"email": "PAT@example.com"})
    assert response.status_code == 302

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pat@example.com"]
    assert "Northbridge Hospital" in message.subject
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and f'href="http://testserver{link}"' in html

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.text
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-secret-9", "new_password2": "a-brand-new-secret-9"},
    )
    assert done.status_code == 302

    patient.refresh_from_db()
    assert patient.check_password("a-brand-new-secret-9")
    assert "This link no longer works" in client.get(link, follow=True).text


def test_password_reset_for_an_unknown_address_reveals_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert "Check your e-mail" in response.text
    assert mail.outbox == []


def test_password_change_needs_the_old_password(patient_client, patient, password):
    url = reverse("accounts:password_change")
    wrong = patient_client.post(
        url, {"old_password": "nope", "new_password1": "x-new-pass-77", "new_password2": "x-new-pass-77"}
    )
    assert "Your old password was entered incorrectly" in wrong.text

    right = patient_client.post(
        url, {"old_password": password, "new_password1": "x-new-pass-77", "new_password2": "x-new-pass-77"}, follow=True
    )
    assert "Your password was changed." in right.text
    patient.refresh_from_db()
    assert patient.check_password("x-new-pass-77")


@pytest.mark.parametrize("url", [LOGIN, reverse("admin:login")])
def test_an_absurdly_long_email_is_a_form_error_not_a_crash(client, url):
    response = client.post(url, {"username": "x" * 300 + "@example.com", "password": "whatever"})
    assert response.status_code == 200
    assert not client.session.get("_auth_user_id")
