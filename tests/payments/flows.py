"""Booking-and-paying scenarios against the Stripe stand-in, with the events Stripe would send."""

from __future__ import annotations

import copy
import datetime as dt
import secrets

import stripe
from django.core.management import call_command

from appointments.models import Appointment
from payments.models import ChargeRefundsSync, CheckoutAttempt
from payments.services import CHARGE_REFUNDS_SYNC_PENDING, charge_refunds_sync, checkout_redirect_url
from tests.factories import PatientFactory, SlotFactory, hold_slot
from tests.payments.standin import Standin
from tests.payments.stripe_events import post_event


class Flow:
    """One patient's booking: book, open Checkout, act at the stand-in, collect its events."""

    def __init__(self, standin: Standin, client, *, slot=None, now: dt.datetime | None = None):
        self.standin = standin
        self.client = client
        self.slot = slot or SlotFactory(starts_at=dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3))
        self.appointment: Appointment = hold_slot(patient=PatientFactory(), slot=self.slot, now=now)
        self.session_id = self.open_checkout(now=now)

    def open_checkout(self, *, now: dt.datetime | None = None) -> str:
        checkout_redirect_url(appointment_id=self.appointment.pk, site_url="http://testserver", now=now)
        return CheckoutAttempt.objects.filter(payment__appointment=self.appointment).first().session_id

    def pay(self, card: str = "4242424242424242") -> dict:
        return self.standin.pay(self.session_id, card=card)

    def pay_a_second_session(self) -> str:
        """A second session for the same booking (say an earlier attempt Stripe had not yet
        closed) gets paid too; returns its id."""
        attempt = self.appointment.payment.checkout_attempts.first()
        second = stripe.checkout.Session.create(api_key=self.standin.process.api_key, **attempt.params)
        self.standin.pay(second.id)
        return second.id

    @property
    def payment_intent_id(self) -> str:
        return self.standin.get(f"checkout/sessions/{self.session_id}")["payment_intent"]

    @property
    def charge_id(self) -> str:
        return self.standin.get(f"payment_intents/{self.payment_intent_id}")["latest_charge"]

    def events(self) -> list[dict]:
        return self.standin.new_events()

    def deliver(self, events: list[dict]) -> None:
        for event in events:
            response = post_event(self.client, event)
            assert response.status_code == 200, (event["type"], response.status_code, response.content[:500])

    def refresh(self) -> Appointment:
        self.appointment.refresh_from_db()
        self.appointment.payment.refresh_from_db()
        return self.appointment


def with_repeats(events: list[dict]) -> list[dict]:
    """The events, then the first one again: once as the same delivery (Stripe retries) and once
    under a new event id (the same fact told twice, which dj-stripe cannot deduplicate)."""
    resent = copy.deepcopy(events[0])
    resent["id"] = "evt_" + secrets.token_hex(12)
    return [*events, events[0], resent]


def run_tasks() -> None:
    """Run every queued background task (refunds, e-mails; every queue) with the real
    `manage.py db_worker`. It opens and closes connections as it likes: call it only from
    transactional tests."""
    call_command("db_worker", queue_name="*", batch=True, startup_delay=False, reload=False, verbosity=0)


def charge_refunds_list() -> None:
    """Run the worker that lists the refunds charge events asked for, in this process and this
    test's transaction (run_tasks does it with the real worker, for transactional tests)."""
    for pk in ChargeRefundsSync.objects.filter(CHARGE_REFUNDS_SYNC_PENDING).values_list("pk", flat=True):
        charge_refunds_sync(sync_id=pk)
