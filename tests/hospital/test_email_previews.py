"""The admin's e-mail previews: every template, rendered with demo data, for staff only, and
looking writes nothing."""

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from hospital.email_previews import email_previews

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def writes(queries) -> list[str]:
    """Statements that change data, leaving out the session row Django's login machinery touches."""
    return [
        query["sql"]
        for query in queries
        if query["sql"].lstrip().upper().startswith(WRITES) and "django_session" not in query["sql"]
    ]


def test_the_admin_index_links_to_the_previews(staff_client):
    page = staff_client.get("/admin/").content.decode()
    assert '<a href="/admin/emails/">E-mail previews</a>' in page


def test_the_list_names_every_template_and_who_receives_it(staff_client):
    page = html.unescape(staff_client.get("/admin/emails/").content.decode())

    for preview in email_previews():
        assert f'<a href="/admin/emails/{preview.slug}/">{preview.title}</a>' in page
        assert preview.template in page


@pytest.mark.parametrize("preview", email_previews(), ids=lambda preview: preview.slug)
def test_each_preview_shows_both_parts_and_writes_nothing(staff_client, preview):
    with CaptureQueriesContext(connection) as queries:
        page = staff_client.get(f"/admin/emails/{preview.slug}/")
        alone = staff_client.get(f"/admin/emails/{preview.slug}/html/")

    assert (page.status_code, alone.status_code) == (200, 200)
    text = html.unescape(page.content.decode())
    assert preview.subject in text
    assert f'title="HTML part of the e-mail: {preview.title}"' in text
    assert alone.content.decode().startswith("<!DOCTYPE html>")
    assert escape(alone.content.decode()) in page.content.decode()  # the frame holds the same HTML
    assert writes(queries.captured_queries) == []


def test_the_demo_visit_reads_on_the_doctors_clock_with_the_patients_beside_it(staff_client):
    page = html.unescape(staff_client.get("/admin/emails/appointments-reminder/").content.decode())

    assert "10:00 JST (Asia/Tokyo)" in page
    assert "(your time: " in page and ("EST" in page or "EDT" in page)


def test_patients_doctors_and_visitors_cannot_see_the_previews(client, patient_client, doctor):
    assert patient_client.get("/admin/emails/").status_code == 302  # to the admin's log-in
    assert client.get("/admin/emails/appointments-reminder/html/").status_code == 302
    client.force_login(doctor.user)
    assert client.get("/admin/emails/appointments-reminder/").status_code == 302


def test_an_unknown_template_is_not_found(staff_client):
    assert staff_client.get("/admin/emails/payments-no-such-email/").status_code == 404
