"""The /_standin control API: switches, time, delivery and "what the patient or the bank did".

Tests and the demo drive the stand-in through these JSON endpoints; they take the same API key
as /v1, so nothing else on the machine can flip them.
"""

import datetime as dt
import re
import time

from . import flows
from .cards import validate_card
from .errors import StripeError, ValidationError
from .routing import Router
from .store import FailRule, State

ROUTER = Router("/_standin")
route = ROUTER.route
find_route = ROUTER.find


SWITCHES = ("duplicate", "reorder", "delay_seconds", "api_delay_seconds", "withhold", "fail_api")
SETTINGS = (
    "webhook_url",
    "webhook_secret",
    "enabled_events",
    "webhook_max_attempts",
    "webhook_retry_seconds",
    "webhook_timeout_seconds",
    "merchant_name",
    "api_version",
)


def describe_config(app) -> dict:
    settings, switches = app.state.settings, app.state.switches
    fail = switches.fail_api
    return {
        "webhook_url": settings.webhook_url,
        "webhook_secret": settings.webhook_secret,
        "enabled_events": list(settings.enabled_events),
        "webhook_max_attempts": settings.webhook_max_attempts,
        "webhook_retry_seconds": settings.webhook_retry_seconds,
        "webhook_timeout_seconds": settings.webhook_timeout_seconds,
        "merchant_name": settings.merchant_name,
        "api_version": settings.api_version,
        "public_url": settings.public_url,
        "account": app.state.account_id,
        "duplicate": switches.duplicate,
        "reorder": switches.reorder,
        "delay_seconds": switches.delay_seconds,
        "api_delay_seconds": switches.api_delay_seconds,
        "withhold": switches.withhold,
        "withheld_events": app.dispatcher.withheld_count,
        "fail_api": None if fail is None else vars(fail),
        "now": app.state.clock.now(),
    }


@route("GET", "/config")
def get_config(app, body):
    return describe_config(app)


@route("POST", "/config")
def set_config(app, body):
    unknown = set(body) - set(SWITCHES) - set(SETTINGS)
    if unknown:
        raise ValidationError(f"Unknown config field(s): {', '.join(sorted(unknown))}", param=sorted(unknown)[0])
    state = app.state
    with state.lock:
        for name in ("duplicate", "reorder", "withhold"):
            if name in body:
                setattr(state.switches, name, bool(body[name]))
        for name in ("delay_seconds", "api_delay_seconds"):
            if name in body:
                setattr(state.switches, name, float(body[name] or 0))
        if "fail_api" in body:
            state.switches.fail_api = _fail_rule(body["fail_api"])
        for name in ("webhook_url", "webhook_secret", "merchant_name"):
            if name in body:
                setattr(state.settings, name, body[name] or "")
        if "api_version" in body:
            state.settings.api_version = _api_version(body["api_version"])
        if "enabled_events" in body:
            state.settings.enabled_events = tuple(body["enabled_events"])
        for name, kind in (
            ("webhook_max_attempts", int),
            ("webhook_retry_seconds", float),
            ("webhook_timeout_seconds", float),
        ):
            if name in body:
                setattr(state.settings, name, kind(body[name]))
    return describe_config(app)


def _api_version(raw) -> str:
    """A Stripe API version such as "2024-09-30.acacia": events carry it and follow its rules."""
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?", raw):
        raise ValidationError('api_version looks like "2024-09-30.acacia"', param="api_version")
    return raw


def _fail_rule(raw) -> FailRule | None:
    if not raw:
        return None
    if not isinstance(raw, dict) or raw.get("mode") not in ("500", "timeout", 500):
        raise ValidationError('fail_api needs {"mode": "500" | "timeout", ...}', param="fail_api")
    return FailRule(
        mode=str(raw["mode"]),
        count=int(raw.get("count", 1)),
        path_prefix=raw.get("path_prefix") or "",
        method=(raw.get("method") or "").upper(),
        timeout_seconds=float(raw.get("timeout_seconds", 30)),
    )


@route("POST", "/reset")
def reset(app, body):
    app.dispatcher.clear()
    app.state.clear()
    return {"reset": True}


@route("POST", "/clock")
def move_clock(app, body):
    """{"advance_seconds": N} moves the stand-in's time forward; {"now": unix time} sets it (e.g. to a
    test's frozen time). Sessions that fall due expire at once, so a test can assert right after."""
    state = app.state
    with state.lock, state.action():
        if "now" in body:
            now = body["now"]
            if not isinstance(now, int | float):
                raise ValidationError("now must be a unix timestamp", param="now")
            state.clock.offset = now - time.time()
        else:
            seconds = body.get("advance_seconds", 0)
            if not isinstance(seconds, int | float) or seconds < 0:
                raise ValidationError("advance_seconds must be zero or more seconds", param="advance_seconds")
            state.clock.advance(seconds)
        expired = flows.expire_due_sessions(state)
    return {"now": state.clock.now(), "offset_seconds": state.clock.offset, "expired_sessions": expired}


@route("GET", "/clock")
def get_clock(app, body):
    return {"now": app.state.clock.now(), "offset_seconds": app.state.clock.offset}


@route("POST", "/deliver")
def deliver(app, body):
    order = body.get("order", "as_created")
    if order not in ("as_created", "reverse"):
        raise ValidationError('order must be "as_created" or "reverse"', param="order")
    released = app.dispatcher.release(order=order, twice=bool(body.get("twice")))
    return {"released": released}


@route("POST", "/wait")
def wait_idle(app, body):
    idle = app.dispatcher.wait_idle(float(body.get("timeout", 10)))
    return {"idle": idle}


@route("GET", "/requests")
def list_requests(app, body):
    """Every /v1 call received since the last reset, oldest first (a test counts its Stripe calls)."""
    with app.state.lock:
        return {"object": "list", "data": list(app.state.requests)}


@route("GET", "/events")
def list_events(app, body):
    state = app.state
    with state.lock:
        rows = []
        for event_id in state.events:
            event = state.objects[event_id]
            delivery = state.deliveries[event_id]
            rows.append(
                {
                    "id": event_id,
                    "type": event["type"],
                    "created": event["created"],
                    "object_id": event["data"]["object"].get("id"),
                    "delivery": delivery.status,
                    "attempts": list(delivery.attempts),
                }
            )
    return {"object": "list", "data": rows}


# -- what the patient does on the hosted page ------------------------------------------------


def _open_session(state: State, session_id: str) -> dict:
    session = state.get(session_id, "checkout.session")
    if not flows.still_open(state, session):
        if session["status"] == "expired":
            raise StripeError("This checkout session has expired", code="checkout_session_expired")
        raise StripeError(f"This checkout session is {session['status']}, not open.")
    return session


def _result(state: State, session: dict, first_event: int) -> dict:
    intent = state.find(session["payment_intent"] or "", "payment_intent")
    events = [state.objects[e] for e in state.events[first_event:]]
    return {
        "session": state.snapshot(session),
        "payment_intent": state.snapshot(intent) if intent else None,
        "events": [{"id": e["id"], "type": e["type"]} for e in events],
    }


def _session_step(app, session_id: str, step, *, must_be_open: bool = True) -> dict:
    """Run `step(state, session)` as one action; answer {session, payment_intent, events it emitted}."""
    state = app.state
    with state.lock:
        first = len(state.events)
        with state.action():
            session = _open_session(state, session_id) if must_be_open else state.get(session_id, "checkout.session")
            step(state, session)
        return _result(state, session, first)


@route("POST", "/checkout/sessions/(?P<session_id>[^/]+)/pay")
def pay(app, body, session_id):
    def step(state, session):
        email = flows.session_email(state, session) or body.get("email")
        if not email:
            raise ValidationError('This session has no customer e-mail; pass "email".', param="email")
        today = dt.datetime.fromtimestamp(state.clock.now(), dt.UTC).date()
        card, errors = validate_card(
            number=str(body.get("card", "4242424242424242")),
            expiry=str(body.get("expiry", f"12 / {(today.year + 3) % 100:02d}")),
            cvc=str(body.get("cvc", "123")),
            name=str(body.get("name", "Test Patient")),
            today=today,
        )
        if errors:
            field, message = next(iter(errors.items()))
            raise ValidationError(message, code="card_invalid", param={"number": "card"}.get(field, field))
        flows.pay_with_card(state, session, card, email=email)

    return _session_step(app, session_id, step)


@route("POST", "/checkout/sessions/(?P<session_id>[^/]+)/authenticate")
def authenticate(app, body, session_id):
    complete = bool(body.get("complete", True))
    return _session_step(app, session_id, lambda state, session: flows.authenticate(state, session, complete=complete))


@route("POST", "/checkout/sessions/(?P<session_id>[^/]+)/pay_async")
def pay_async(app, body, session_id):
    def step(state, session):
        email = flows.session_email(state, session) or body.get("email")
        flows.pay_async(state, session, name=str(body.get("name", "Test Patient")), email=email)

    return _session_step(app, session_id, step)


@route("POST", "/checkout/sessions/(?P<session_id>[^/]+)/async_result")
def async_result(app, body, session_id):
    if "succeeded" not in body:
        raise ValidationError('async_result needs {"succeeded": true | false}', param="succeeded")
    succeeded = bool(body["succeeded"])
    return _session_step(
        app,
        session_id,
        lambda state, session: flows.async_result(state, session, succeeded=succeeded),
        must_be_open=False,
    )


# -- what the bank does ----------------------------------------------------------------------


@route("POST", "/charges/(?P<charge_id>[^/]+)/dispute")
def dispute(app, body, charge_id):
    state = app.state
    with state.lock, state.action():
        charge = state.get(charge_id, "charge")
        amount = body.get("amount")
        found = flows.open_dispute(
            state, charge, reason=body.get("reason", "fraudulent"), amount=None if amount is None else int(amount)
        )
        return state.snapshot(found)


@route("POST", "/disputes/(?P<dispute_id>[^/]+)/close")
def close_dispute(app, body, dispute_id):
    state = app.state
    with state.lock, state.action():
        found = flows.close_dispute(state, state.get(dispute_id, "dispute"), status=body.get("status", ""))
        return state.snapshot(found)


@route("POST", "/refunds/(?P<refund_id>[^/]+)/fail")
def fail_refund(app, body, refund_id):
    state = app.state
    reason = body.get("failure_reason", "expired_or_canceled_card")
    if reason not in (
        "lost_or_stolen_card",
        "expired_or_canceled_card",
        "charge_for_pending_refund_disputed",
        "insufficient_funds",
        "declined",
        "merchant_request",
        "unknown",
    ):
        raise ValidationError(f"Unknown failure_reason: {reason}", param="failure_reason")
    with state.lock, state.action():
        found = flows.fail_refund(state, state.get(refund_id, "refund"), failure_reason=reason)
        return state.snapshot(found)
