"""Which visits count as paid, as the lower apps see it through appointments.payment_facts."""

import pytest

from appointments.payment_facts import appointment_is_paid
from payments.models import DisputeStatus, Payment
from tests.factories import visit

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "facts, counts_as_paid",
    [
        ({}, True),
        ({"captured_amount": 0}, False),
        ({"refunded_amount": 2500}, True),
        ({"refunded_amount": 5000}, False),
        ({"dispute_status": DisputeStatus.OPEN}, True),
        ({"dispute_status": DisputeStatus.LOST}, False),
    ],
)
def test_a_visit_counts_as_paid_exactly_when_its_payment_says_so(facts, counts_as_paid):
    appointment = visit(status="completed")
    Payment.objects.filter(appointment=appointment).update(**{"amount": 5000, "captured_amount": 5000, **facts})
    payment = Payment.objects.get(appointment=appointment)
    assert appointment_is_paid(appointment.pk) is counts_as_paid is payment.is_paid
