"""Patients read plain words about a failed card, never Stripe's developer text; staff keep that
text (issue 8, section 5). Through the real flow: the stand-in's pay page cards, its events, our
webhook, the detail page and the admin."""

import html

import pytest
from django.test import Client

from payments.card_failures import DECLINED, NOT_CONFIRMED, card_failure_words
from tests.payments.flows import Flow

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]

STRIPE_AUTHENTICATION_TEXT = "The provided PaymentMethod has failed authentication."


def detail_page(flow: Flow) -> str:
    patient = Client()
    patient.force_login(flow.appointment.patient)
    return html.unescape(patient.get(f"/appointments/{flow.appointment.pk}/").content.decode())


def admin_page(flow: Flow, staff_client) -> str:
    return html.unescape(
        staff_client.get(f"/admin/payments/payment/{flow.appointment.payment.pk}/change/").content.decode()
    )


def test_a_failed_bank_check_reads_as_plain_words_and_staff_keep_stripes_text(standin, client, staff_client):
    flow = Flow(standin, client)
    flow.pay(card="4000002500003155")  # the bank asks for authentication
    standin.control(f"checkout/sessions/{flow.session_id}/authenticate", complete=False)  # and it fails
    events = flow.events()
    failed = next(e for e in events if e["type"] == "payment_intent.payment_failed")
    assert failed["data"]["object"]["last_payment_error"]["code"] == "payment_intent_authentication_failure"

    flow.deliver(events)

    page = detail_page(flow)
    assert f"Last payment attempt failed: {NOT_CONFIRMED}" in page
    assert f"Payment attempt failed: {NOT_CONFIRMED}" in page  # the timeline
    assert STRIPE_AUTHENTICATION_TEXT not in page
    assert "payment_method_data" not in page
    staff_view = admin_page(flow, staff_client)
    assert f"payment_intent_authentication_failure: {STRIPE_AUTHENTICATION_TEXT}" in staff_view


def test_a_declined_card_reads_as_plain_words_and_staff_see_the_decline_code(standin, client, staff_client):
    flow = Flow(standin, client)
    flow.pay(card="4000000000000002")
    flow.deliver(flow.events())

    page = detail_page(flow)
    assert f"Last payment attempt failed: {DECLINED}" in page
    assert "card_declined" not in page
    assert "card_declined / generic_decline: Your card was declined." in admin_page(flow, staff_client)


@pytest.mark.parametrize(
    ("card", "words"),
    [
        ("4000000000009995", "there is not enough money available on it"),
        ("4000000000009987", DECLINED),  # lost: Stripe advises saying no more than "declined"
        ("4000000000009979", DECLINED),  # stolen
        ("4000000000000069", "Your card has expired."),
        ("4000000000000127", "The security code (CVC) does not match your card."),
        ("4000000000000119", "you have not been charged"),  # processing_error
    ],
)
def test_each_decline_the_stand_in_gives_reads_as_its_own_plain_words(standin, client, card, words):
    flow = Flow(standin, client)
    flow.pay(card=card)
    flow.deliver(flow.events())

    assert words in flow.refresh().payment.last_failure_reason


def test_an_unknown_code_still_reads_as_plain_words():
    assert card_failure_words({"code": "something_new", "message": "Developer text"}) == (
        "Your card payment did not go through. Please try again, or use another card."
    )
    assert card_failure_words({}) == card_failure_words({"code": "something_new"})
