"""A visitor who chose a time and was sent to log in keeps that time through log-in and sign-up,
and the pages say what they are logging in for."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse

from accounts.models import User
from tests.accounts.test_signup import signup_data
from tests.factories import TEST_PASSWORD, DoctorFactory, SlotFactory, UserFactory
from tests.html_checks import link_hrefs

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, tzinfo=UTC)
LOGIN = reverse("accounts:login")
SIGNUP = reverse("accounts:signup")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def slot_of(timezone: str, starts_at: dt.datetime, **doctor):
    user = UserFactory(first_name="Amara", last_name="Okafor", role="doctor")
    return SlotFactory(
        doctor=DoctorFactory(user=user, timezone=timezone, **doctor),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=30),
    )


def book_url(slot) -> str:
    return reverse("appointments:book", args=[slot.pk])


def next_of(href: str) -> str | None:
    values = parse_qs(urlsplit(href).query).get("next")
    return values[0] if values else None


def only_link(html: str, text: str) -> str:
    hrefs = link_hrefs(html, text)
    assert len(hrefs) == 1, f"{text!r}: {hrefs}"
    return hrefs[0]


@pytest.fixture
def slot():
    return slot_of("Europe/London", dt.datetime(2026, 12, 2, 11, tzinfo=UTC))


class TestTheChosenTimeSurvivesSigningUp:
    def test_header_create_account_on_the_log_in_page_comes_back_to_the_slot(self, client, slot):
        login_page = client.get(client.get(book_url(slot)).url)

        create_account = only_link(login_page.text, "Create account")
        assert next_of(create_account) == book_url(slot)

        signup_page = client.get(create_account)
        assert f'name="next" value="{book_url(slot)}"' in signup_page.text
        signed_up = client.post(create_account, signup_data() | {"next": book_url(slot)})

        assert signed_up.status_code == 302
        assert signed_up.url == book_url(slot)
        assert "Continue to payment" in client.get(signed_up.url).text
        assert User.objects.get(email="ada@example.com").role == "patient"

    def test_the_log_in_pages_own_link_keeps_it_too(self, client, slot):
        page = client.get(LOGIN, {"next": book_url(slot)})
        assert next_of(only_link(page.text, "New here? Create an account")) == book_url(slot)

    def test_links_on_the_sign_up_page_keep_it_back_to_log_in(self, client, slot):
        page = client.get(SIGNUP, {"next": book_url(slot)})

        log_in_links = link_hrefs(page.text, "Log in")  # the header's and the one in the page's text
        assert len(log_in_links) == 2
        assert all(next_of(href) == book_url(slot) for href in log_in_links)
        assert next_of(only_link(page.text, "Create account")) == book_url(slot)

        logged_in = client.post(
            log_in_links[1],
            {"username": UserFactory().email, "password": TEST_PASSWORD, "next": book_url(slot)},
        )
        assert logged_in.url == book_url(slot)

    def test_a_failed_sign_up_keeps_it(self, client, slot):
        page = client.post(
            f"{SIGNUP}?next={book_url(slot)}", signup_data(password2="different") | {"next": book_url(slot)}
        )

        assert page.status_code == 200
        assert f'name="next" value="{book_url(slot)}"' in page.text
        assert next_of(only_link(page.text, "Create account")) == book_url(slot)

    def test_header_links_on_other_pages_bring_the_visitor_back_to_that_page(self, client, slot):
        doctor_page = reverse("hospital:doctor_detail", args=[slot.doctor.pk])
        page = client.get(doctor_page)

        assert next_of(only_link(page.text, "Log in")) == doctor_page
        assert next_of(only_link(page.text, "Create account")) == doctor_page

    def test_the_home_page_needs_no_way_back(self, client):
        page = client.get(reverse("hospital:home"))
        assert next_of(only_link(page.text, "Log in")) is None
        assert next_of(only_link(page.text, "Create account")) is None


@pytest.mark.parametrize(
    "foreign",
    [
        "https://evil.example.net/appointments/book/1/",
        "//evil.example.net/",
        "http://testserver.evil.example.net/",
        "javascript:alert(1)",
        "/\\evil.example.net",
    ],
)
class TestNoOpenRedirect:
    def test_a_next_on_another_site_is_dropped_from_every_link_and_field(self, client, foreign):
        for url in (LOGIN, SIGNUP):
            page = client.get(url, {"next": foreign})

            assert page.status_code == 200
            assert "evil.example" not in page.text and "javascript" not in page.text
            for text in ("Log in", "Create account", "New here? Create an account"):
                assert all(next_of(href) is None for href in link_hrefs(page.text, text))

    def test_signing_up_or_logging_in_with_it_goes_home(self, client, foreign):
        signed_up = client.post(f"{SIGNUP}?next={foreign}", signup_data() | {"next": foreign})
        assert signed_up.url == "/"
        client.logout()
        logged_in = client.post(
            LOGIN, {"username": "ada@example.com", "password": "analytical-engine-42", "next": foreign}
        )
        assert logged_in.url == "/"


class TestWhatTheVisitorIsLoggingInFor:
    def test_log_in_names_the_doctor_and_the_time_in_the_doctors_zone(self, client, slot):
        page = client.get(LOGIN, {"next": book_url(slot)})
        assert "Log in to book Dr Amara Okafor, Wed 2 Dec 11:00 GMT" in page.text

    def test_sign_up_says_the_same(self, client, slot):
        page = client.get(SIGNUP, {"next": book_url(slot)})
        assert "Create an account to book Dr Amara Okafor, Wed 2 Dec 11:00 GMT" in page.text

    def test_the_doctors_zone_not_the_sites(self, client):
        tokyo = slot_of("Asia/Tokyo", dt.datetime(2026, 12, 3, 1, tzinfo=UTC))
        new_york = slot_of("America/New_York", dt.datetime(2026, 12, 3, 15, 30, tzinfo=UTC))

        assert "Dr Amara Okafor, Thu 3 Dec 10:00 JST" in client.get(LOGIN, {"next": book_url(tokyo)}).text
        assert "Dr Amara Okafor, Thu 3 Dec 10:30 EST" in client.get(LOGIN, {"next": book_url(new_york)}).text

    @pytest.mark.parametrize(
        "next_url",
        ["/appointments/book/999999/", "/appointments/book/abc/", "/doctors/", "/appointments/", ""],
    )
    def test_anything_else_is_the_plain_page(self, client, slot, next_url):
        for url, heading in ((LOGIN, "<h1>Log in</h1>"), (SIGNUP, "<h1>Create your patient account</h1>")):
            page = client.get(url, {"next": next_url})
            assert page.status_code == 200
            assert heading in page.text
            assert "Okafor" not in page.text

    def test_a_doctor_no_longer_listed_is_the_plain_page(self, client):
        hidden = slot_of("Europe/London", dt.datetime(2026, 12, 2, 11, tzinfo=UTC), is_active=False)
        page = client.get(LOGIN, {"next": book_url(hidden)})
        assert "Okafor" not in page.text
