"""What happens after the patient leaves: disputes, and delayed payment methods settling later."""


def test_dispute_created_then_closed(stripe_client, standin, receiver, paid_charge):
    dispute = standin.control(f"/charges/{paid_charge.id}/dispute", reason="fraudulent")

    assert dispute["id"].startswith("dp_") and dispute["object"] == "dispute"
    assert (dispute["status"], dispute["amount"], dispute["charge"]) == ("needs_response", 5000, paid_charge.id)
    assert dispute["balance_transactions"][0]["amount"] == -5000
    assert stripe_client.v1.charges.retrieve(paid_charge.id).disputed is True
    assert stripe_client.v1.disputes.retrieve(dispute["id"]).reason == "fraudulent"

    closed = standin.control(f"/disputes/{dispute['id']}/close", status="lost")

    assert closed["status"] == "lost"
    receiver.wait_for(3)
    assert receiver.types() == ["checkout.session.completed", "charge.dispute.created", "charge.dispute.closed"]
    assert receiver.events()[2]["data"]["previous_attributes"] == {"status": "needs_response"}
    assert [d.id for d in stripe_client.v1.disputes.list(params={"charge": paid_charge.id}).data] == [dispute["id"]]


def test_a_disputed_charge_cannot_be_refunded(stripe_client, standin, paid_charge):
    import pytest
    import stripe

    standin.control(f"/charges/{paid_charge.id}/dispute")

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.refunds.create(params={"charge": paid_charge.id})
    assert error.value.code == "charge_disputed"


def test_a_delayed_payment_completes_unpaid_then_succeeds(stripe_client, standin, receiver, new_session):
    session = new_session()

    result = standin.control(f"/checkout/sessions/{session.id}/pay_async")

    assert (result["session"]["status"], result["session"]["payment_status"]) == ("complete", "unpaid")
    assert result["payment_intent"]["status"] == "processing"

    settled = standin.control(f"/checkout/sessions/{session.id}/async_result", succeeded=True)

    assert settled["session"]["payment_status"] == "paid"
    assert settled["payment_intent"]["status"] == "succeeded"
    receiver.wait_for(2)
    assert receiver.types() == ["checkout.session.completed", "checkout.session.async_payment_succeeded"]


def test_a_delayed_payment_can_fail(stripe_client, standin, receiver, new_session):
    session = new_session()
    standin.control(f"/checkout/sessions/{session.id}/pay_async")

    failed = standin.control(f"/checkout/sessions/{session.id}/async_result", succeeded=False)

    assert failed["session"]["payment_status"] == "unpaid"
    assert failed["payment_intent"]["status"] == "requires_payment_method"
    receiver.wait_for(3)
    assert receiver.types() == [
        "checkout.session.completed",
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    ]
