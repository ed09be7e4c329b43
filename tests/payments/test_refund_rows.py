"""A refund row belongs to one payment for good: no later Stripe object moves it to another."""

import pytest

from payments.locks import lock_payment
from payments.models import Refund
from payments.services.refunds import refund_record_locked
from payments.stripe_objects import UnusableStripeObject
from tests.payments import handmade

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def test_a_refund_recorded_on_one_payment_is_never_moved_to_another(standin, client):
    first, second = handmade.paid_flow(standin, client), handmade.paid_flow(standin, client)
    refund = handmade.refund(payment_intent=first.payment_intent_id, amount=1000)
    _, first_payment = lock_payment(first.appointment.pk)
    refund_record_locked(first_payment, refund)

    _, second_payment = lock_payment(second.appointment.pk)
    with pytest.raises(UnusableStripeObject, match="is recorded on payment"):
        refund_record_locked(second_payment, {**refund, "payment_intent": second.payment_intent_id})

    assert Refund.objects.get(stripe_refund_id=refund["id"]).payment_id == first_payment.pk
