"""The test side of the Stripe stand-in: act like a patient or like Stripe's Dashboard, and collect
the events it produced so a test can deliver them, in any order, to the real webhook URL."""

from __future__ import annotations

import stripe

from stripe_standin.testing import StandinProcess


class Standin:
    def __init__(self, process: StandinProcess):
        self.process = process
        self.url = process.url
        self._events_seen = 0

    def control(self, path: str, method: str = "POST", **body) -> dict:
        return self.process.control(f"/{path}", method, **body)

    def get(self, path: str) -> dict:
        return self.process.request("GET", f"/v1/{path}")

    def api_calls(self) -> list[str]:
        """The /v1 calls the stand-in received since the reset, as "METHOD /path"."""
        return [f"{row['method']} {row['path']}" for row in self.control("requests", method="GET")["data"]]

    # -- what people do -----------------------------------------------------------------------

    def pay(self, session_id: str, card: str = "4242424242424242") -> dict:
        return self.process.pay(session_id, card=card)

    def refund(self, payment_intent_id: str, amount: int | None = None) -> dict:
        """A refund made in Stripe's Dashboard, not by the app."""
        extra = {} if amount is None else {"amount": amount}
        return stripe.Refund.create(payment_intent=payment_intent_id, api_key=self.process.api_key, **extra).to_dict()

    def expire(self, session_id: str) -> dict:
        return stripe.checkout.Session.expire(session_id, api_key=self.process.api_key).to_dict()

    # -- what Stripe sends --------------------------------------------------------------------

    def new_events(self) -> list[dict]:
        """Events for our endpoint produced since the last call, oldest first, as Stripe sends them."""
        rows = self.process.events()
        fresh, self._events_seen = rows[self._events_seen :], len(rows)
        return [self.get(f"events/{row['id']}") for row in fresh if row["delivery"] != "not_enabled"]
