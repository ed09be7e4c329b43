"""Refunds: what is left to refund is enforced, partial refunds add up, and the charge tells the story."""

import pytest
import stripe


def test_partial_refunds_add_up_and_the_charge_follows(stripe_client, paid_charge, receiver, standin):
    first = stripe_client.v1.refunds.create(
        params={"charge": paid_charge.id, "amount": 2000, "metadata": {"refund_id": "1"}}
    )
    second = stripe_client.v1.refunds.create(params={"payment_intent": paid_charge.payment_intent})

    assert first.status == second.status == "succeeded"
    assert (first.amount, second.amount) == (2000, 3000)  # without an amount: everything that is left
    assert first.object == "refund" and first.id.startswith("re_")
    assert first.charge == paid_charge.id and first.payment_intent == paid_charge.payment_intent
    assert first.metadata.to_dict() == {"refund_id": "1"}
    txn = stripe_client.v1.balance_transactions.retrieve(first.balance_transaction)
    assert (txn.amount, txn.type, txn.source) == (-2000, "refund", first.id)

    charge = stripe_client.v1.charges.retrieve(paid_charge.id)
    assert charge.amount_refunded == 5000
    assert charge.refunded is True
    assert "refunds" not in charge  # listed only when expanded (API 2022-11-15 on)
    charge = stripe_client.v1.charges.retrieve(paid_charge.id, params={"expand": ["refunds"]})
    assert [r.id for r in charge.refunds.data] == [second.id, first.id]

    listed = stripe_client.v1.refunds.list(params={"charge": paid_charge.id, "limit": 1})
    assert [r.id for r in listed.data] == [second.id]
    assert listed.has_more is True

    assert standin.wait_idle()  # every event delivered
    refunded = [e for e in receiver.events() if e["type"] == "charge.refunded"]
    assert [e["data"]["object"]["amount_refunded"] for e in refunded] == [2000, 5000]
    assert refunded[0]["data"]["previous_attributes"] == {"amount_refunded": 0, "refunded": False}
    assert "refunds" not in refunded[1]["data"]["object"]
    created = [e["data"]["object"]["id"] for e in receiver.events() if e["type"] == "refund.created"]
    assert created == [first.id, second.id]
    assert refunded[0]["request"]["idempotency_key"]  # stripe-python sends one on every POST


def test_refunding_more_than_is_left_is_refused(stripe_client, paid_charge):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.refunds.create(params={"charge": paid_charge.id, "amount": 5001})
    assert error.value.http_status == 400
    assert error.value.code == "amount_too_large"
    assert error.value.user_message == "Refund amount ($50.01) is greater than charge amount ($50.00)"

    stripe_client.v1.refunds.create(params={"charge": paid_charge.id, "amount": 4000})
    with pytest.raises(stripe.InvalidRequestError, match=r"unrefunded amount on charge \(\$10.00\)"):
        stripe_client.v1.refunds.create(params={"charge": paid_charge.id, "amount": 1001})

    stripe_client.v1.refunds.create(params={"charge": paid_charge.id})
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.refunds.create(params={"charge": paid_charge.id})
    assert error.value.code == "charge_already_refunded"


def test_a_refund_needs_a_charge_or_payment_intent(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.refunds.create(params={"amount": 100})
    assert error.value.http_status == 400

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.refunds.create(params={"charge": "ch_missing"})
    assert error.value.code == "resource_missing"


def test_a_failed_refund_gives_the_money_back_to_the_charge(stripe_client, standin, receiver, paid_charge):
    standin.configure(enabled_events=["refund.updated", "charge.refund.updated", "refund.failed", "charge.refunded"])
    refund = stripe_client.v1.refunds.create(params={"charge": paid_charge.id, "amount": 1500})

    failed = standin.control(f"/refunds/{refund.id}/fail")

    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "expired_or_canceled_card"
    charge = stripe_client.v1.charges.retrieve(paid_charge.id)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    assert stripe_client.v1.refunds.retrieve(refund.id).status == "failed"
    receiver.wait_for(5)
    # Real Stripe sends no second charge.refunded when a refund fails.
    assert receiver.types()[1:] == ["charge.refunded", "refund.updated", "charge.refund.updated", "refund.failed"]
    assert receiver.events()[2]["data"]["previous_attributes"] == {"status": "succeeded"}
