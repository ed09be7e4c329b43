"""A money log line is written when its transaction commits, never when it rolls back, and names
the request and the bound fields (the Stripe event) as they were when the change was made: the
commit may come after both are gone. Read as the log collector reads it (the JSON handler)."""

import pytest
from django.db import transaction

from hospital.log_context import log_fields, request_id_begin, request_id_end
from hospital.money_log import log_money_change
from tests.hospital.log_capture import LogCapture

pytestmark = pytest.mark.django_db(transaction=True)


class Refused(Exception):
    pass


@pytest.fixture
def in_a_request():
    request_id_begin("req-money-0001")
    yield
    request_id_end(sender=None)


def money_lines(capture: LogCapture) -> list[dict]:
    return [line for line in capture.lines() if line["logger"] == "money"]


def pay(payment_id: int) -> None:
    with log_fields(stripe_event_id="evt_paid", stripe_event_type="checkout.session.completed"):
        log_money_change("payment", payment_id, old="unpaid", new="paid", payment_intent_id="pi_123")


@pytest.mark.usefixtures("in_a_request")
def test_a_change_rolled_back_writes_no_line():
    with LogCapture() as capture, pytest.raises(Refused), transaction.atomic():
        pay(7)
        raise Refused

    assert money_lines(capture) == []


@pytest.mark.usefixtures("in_a_request")
def test_a_committed_change_writes_one_line_with_the_ids_bound_when_it_was_made():
    with LogCapture() as capture:
        with transaction.atomic():
            pay(7)
            request_id_begin("req-other-0002")  # by commit time, neither the event nor this id
            assert money_lines(capture) == []  # not before the commit

        [line] = money_lines(capture)

    assert line["message"] == "payment 7: unpaid -> paid"
    assert (line["payment_id"], line["payment_intent_id"], line["old_status"], line["new_status"]) == (
        7, "pi_123", "unpaid", "paid",
    )  # fmt: skip
    assert (line["request_id"], line["stripe_event_id"], line["stripe_event_type"]) == (
        "req-money-0001", "evt_paid", "checkout.session.completed",
    )  # fmt: skip


def test_outside_any_request_or_transaction_the_line_is_written_at_once_without_a_request_id():
    with LogCapture() as capture:
        log_money_change("refund", 3, old="requested", new="succeeded", stripe_refund_id="re_1")
        [line] = money_lines(capture)

    assert (line["message"], line["request_id"], line["stripe_refund_id"]) == (
        "refund 3: requested -> succeeded",
        None,
        "re_1",
    )
