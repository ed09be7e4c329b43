"""The /v1 endpoints: parameter checks in Stripe's words, then a flow, then the object as JSON."""

import re
from dataclasses import dataclass

from . import expand, flows, objects
from .errors import StripeError, ValidationError, missing_parameter, no_such
from .money import MINIMUM_AMOUNT, format_amount
from .params import (
    as_choice,
    as_dict,
    as_email,
    as_int,
    as_list,
    as_metadata,
    as_str,
    as_url,
    expand_paths,
    nested,
    only,
)
from .routing import Router
from .store import State


@dataclass
class Request:
    state: State
    method: str
    path: str
    params: dict
    request_id: str
    idempotency_key: str | None = None


ROUTER = Router()
route = ROUTER.route
find_route = ROUTER.find


def unrecognized(method: str, path: str) -> StripeError:
    return StripeError(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at "
        "https://support.stripe.com/.",
        status=404,
    )


# -- shared shapes ---------------------------------------------------------------------------


def show(req: Request, obj: dict) -> dict:
    return expand.apply(req.state, req.state.snapshot(obj), expand_paths(req.params))


def retrieve(req: Request, kind: str, object_id: str) -> dict:
    only(req.params, {"expand"})
    return show(req, req.state.get(object_id, kind))


def list_response(req: Request, items: list[dict], url: str, filters=()) -> dict:
    """Stripe's cursor pagination over `items` (already newest first)."""
    params = req.params
    only(params, {"limit", "starting_after", "ending_before", "expand", *filters})
    limit = as_int(params.get("limit", "10"), "limit", minimum=1, maximum=100)
    ids = [item["id"] for item in items]
    if "starting_after" in params:
        cursor = as_str(params["starting_after"], "starting_after")
        if cursor not in ids:
            raise no_such(req.state.kinds.get(cursor, "object"), cursor, param="starting_after", status=400)
        items = items[ids.index(cursor) + 1 :]
    elif "ending_before" in params:
        cursor = as_str(params["ending_before"], "ending_before")
        if cursor not in ids:
            raise no_such(req.state.kinds.get(cursor, "object"), cursor, param="ending_before", status=400)
        before = items[: ids.index(cursor)]
        page = before[-limit:]
        return _page(req, page, url, has_more=len(before) > limit)
    return _page(req, items[:limit], url, has_more=len(items) > limit)


def _page(req: Request, page: list[dict], url: str, *, has_more: bool) -> dict:
    body = objects.list_object([req.state.snapshot(item) for item in page], url, has_more)
    return expand.apply(req.state, body, expand_paths(req.params))


def filtered(req: Request, kind: str, fields: dict[str, str]) -> list[dict]:
    """Newest-first objects of `kind` whose field equals each given filter parameter."""
    items = req.state.newest_first(kind)
    for param, field in fields.items():
        if param in req.params:
            wanted = as_str(req.params[param], param)
            items = [item for item in items if item.get(field) == wanted]
    return items


# -- account ---------------------------------------------------------------------------------


@route("GET", "/v1/account")
def get_account(req: Request):
    only(req.params, {"expand"})
    return expand.apply(req.state, objects.account(req.state), expand_paths(req.params))


@route("GET", "/v1/accounts/(?P<account_id>[^/]+)")
def get_account_by_id(req: Request, account_id: str):
    if account_id != req.state.account_id:
        raise no_such("account", account_id)
    return get_account(req)


# -- customers -------------------------------------------------------------------------------

CUSTOMER_FIELDS = {"email", "name", "description", "phone", "metadata", "expand"}


def _customer_fields(params: dict) -> dict:
    fields = {}
    if params.get("email"):
        fields["email"] = as_email(params["email"], "email")
    for name in ("name", "description", "phone"):
        if name in params:
            fields[name] = as_str(params[name], name, max_length=256 if name == "name" else 5000) or None
    return fields


@route("POST", "/v1/customers")
def create_customer(req: Request):
    only(req.params, CUSTOMER_FIELDS)
    fields = {"email": None, "name": None, "description": None, "phone": None, **_customer_fields(req.params)}
    metadata = {k: v for k, v in as_metadata(req.params.get("metadata", {})).items() if v != ""}
    customer = req.state.add(objects.customer(req.state, metadata=metadata, **fields))
    req.state.emit("customer.created", customer)
    return show(req, customer)


@route("POST", "/v1/customers/(?P<customer_id>[^/]+)")
def update_customer(req: Request, customer_id: str):
    only(req.params, CUSTOMER_FIELDS)
    customer = req.state.get(customer_id, "customer")
    changes = _customer_fields(req.params)
    if "email" in req.params and not req.params["email"]:
        changes["email"] = None
    previous = {key: customer[key] for key in changes if customer[key] != changes[key]}
    customer.update(changes)
    if "metadata" in req.params:
        # Stripe merges metadata; an empty value deletes its key, an empty hash clears them all.
        new = as_metadata(req.params["metadata"])
        old = dict(customer["metadata"])
        merged = {} if req.params["metadata"] == "" else {**old, **new}
        customer["metadata"] = {k: v for k, v in merged.items() if v != ""}
        if customer["metadata"] != old:
            previous["metadata"] = old
    if previous:
        req.state.emit("customer.updated", customer, previous)
    return show(req, customer)


@route("GET", "/v1/customers/(?P<customer_id>[^/]+)")
def get_customer(req: Request, customer_id: str):
    return retrieve(req, "customer", customer_id)


@route("GET", "/v1/customers")
def list_customers(req: Request):
    return list_response(req, filtered(req, "customer", {"email": "email"}), "/v1/customers", {"email"})


# -- checkout sessions -----------------------------------------------------------------------

# fmt: off
SESSION_PARAMS = {
    "mode", "line_items", "customer", "customer_email", "expires_at", "success_url", "cancel_url",
    "client_reference_id", "metadata", "payment_method_types", "payment_intent_data", "locale", "submit_type",
    "billing_address_collection", "customer_creation", "ui_mode", "expand",
}
PAYMENT_METHOD_TYPES = (
    "acss_debit", "affirm", "afterpay_clearpay", "alipay", "amazon_pay", "au_becs_debit", "bacs_debit", "bancontact",
    "blik", "boleto", "card", "cashapp", "customer_balance", "eps", "fpx", "giropay", "grabpay", "ideal", "klarna",
    "konbini", "link", "mobilepay", "multibanco", "oxxo", "p24", "paypal", "pix", "promptpay", "revolut_pay",
    "sepa_debit", "sofort", "twint", "us_bank_account", "wechat_pay", "zip",
)
# fmt: on
MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 60 * 60


@route("POST", "/v1/checkout/sessions")
def create_session(req: Request):
    state, params = req.state, req.params
    only(params, SESSION_PARAMS)
    received_at = state.clock.now()  # the window counts from when Stripe receives the request

    if "mode" not in params:
        raise missing_parameter("mode")
    mode = as_choice(params["mode"], "mode", ("payment", "setup", "subscription"))
    if mode != "payment":
        raise ValidationError(f"The Stripe stand-in supports only mode=payment, not {mode}.", param="mode")
    if "success_url" not in params:
        raise missing_parameter("success_url")
    success_url = as_url(params["success_url"], "success_url")
    cancel_url = as_url(params["cancel_url"], "cancel_url") if "cancel_url" in params else None
    if "customer" in params and "customer_email" in params:
        raise ValidationError(
            "You may only specify one of these parameters: customer, customer_email.", param="customer_email"
        )
    customer_email = as_email(params["customer_email"], "customer_email") if "customer_email" in params else None
    items = _line_items(state, params)
    currency = items[0]["currency"]
    total = sum(item["amount_total"] for item in items)
    _check_minimum(total, currency, as_list(params["line_items"], "line_items")[0])
    expires_at = _expires_at(params, received_at)
    method_types = ["card"]
    if "payment_method_types" in params:
        raw = as_list(params["payment_method_types"], "payment_method_types")
        method_types = [as_choice(v, f"payment_method_types[{i}]", PAYMENT_METHOD_TYPES) for i, v in enumerate(raw)]
    metadata = {k: v for k, v in as_metadata(params.get("metadata", {})).items() if v != ""}
    reference = None
    if "client_reference_id" in params:
        reference = as_str(params["client_reference_id"], "client_reference_id", max_length=200)
    intent_data = _payment_intent_data(params.get("payment_intent_data", {}))
    extras = {}
    for name in ("locale", "submit_type", "billing_address_collection", "ui_mode"):
        if name in params:
            extras[name] = as_str(params[name], name)

    # Lookups last: Stripe checks the request's own shape before touching other objects.
    customer = None
    if "customer" in params:
        customer = state.get(as_str(params["customer"], "customer"), "customer", param="customer", status=400)

    for item in items:
        price, product = item["price"], item["price"]["product"]
        price["product"] = product["id"]
        for obj in (product, price):
            if obj["id"] not in state.objects:  # inline price_data makes new ones; `price` reuses a stored one
                state.add(obj)
    email = customer["email"] if customer else customer_email
    session = objects.checkout_session(
        state,
        amount_subtotal=total,
        amount_total=total,
        cancel_url=cancel_url,
        client_reference_id=reference,
        currency=currency,
        customer=customer["id"] if customer else None,
        customer_creation=None if customer else "if_required",
        customer_details=objects.customer_details(email=email) if email else None,
        customer_email=customer_email,
        expires_at=expires_at,
        metadata=metadata,
        payment_method_types=method_types,
        success_url=success_url,
        **extras,
    )
    state.add(session)
    state.private[session["id"]] = {"line_items": items, "payment_intent_data": intent_data}
    return show(req, session)


def _check_minimum(total: int, currency: str, first_item: dict) -> None:
    """Stripe names the first line item's amount, as given inline or through a stored price."""
    minimum = MINIMUM_AMOUNT.get(currency, 1)
    if total < minimum:
        source = "[price_data][unit_amount]" if "price_data" in first_item else "[price]"
        raise ValidationError(
            f"The Checkout Session's total amount due must add up to at least {format_amount(minimum, currency)} "
            f"{currency}",
            code="amount_too_small",
            param=f"line_items[0]{source}",
        )


def _expires_at(params: dict, received_at: int) -> int:
    """Stripe's window: 30 minutes to 24 hours after it receives the request (24 hours if not given)."""
    if "expires_at" not in params:
        return received_at + MAX_EXPIRY
    expires_at = as_int(params["expires_at"], "expires_at")
    if expires_at < received_at + MIN_EXPIRY:
        raise ValidationError(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
            param="expires_at",
        )
    if expires_at > received_at + MAX_EXPIRY:
        raise ValidationError(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            param="expires_at",
        )
    return expires_at


def _line_items(state: State, params: dict) -> list[dict]:
    if "line_items" not in params:
        raise missing_parameter("line_items")
    raw_items = as_list(params["line_items"], "line_items")
    if not raw_items:
        raise missing_parameter("line_items")
    items = []
    for index, raw in enumerate(raw_items):
        prefix = f"line_items[{index}]"
        raw = as_dict(raw, prefix)
        only(raw, {"price", "price_data", "quantity"}, prefix)
        if "quantity" not in raw:
            raise missing_parameter(f"{prefix}[quantity]")
        quantity = as_int(raw["quantity"], f"{prefix}[quantity]", minimum=1, maximum=999_999)
        if "price" in raw:
            price_id = as_str(raw["price"], f"{prefix}[price]")
            price = state.get(price_id, "price", param=f"{prefix}[price]", status=400)
            product = state.get(price["product"], "product")
            price = {**price, "product": product}
        elif "price_data" in raw:
            price, product = _price_data(state, as_dict(raw["price_data"], f"{prefix}[price_data]"), prefix)
        else:
            raise missing_parameter(f"{prefix}[price]")
        item = objects.line_item(price_obj=price, description=product["name"], quantity=quantity)
        if items and item["currency"] != items[0]["currency"]:
            raise ValidationError(
                "All line_items must share the same currency.", param=f"{prefix}[price_data][currency]"
            )
        items.append(item)
    return items


def _price_data(state: State, data: dict, prefix: str) -> tuple[dict, dict]:
    prefix = f"{prefix}[price_data]"
    only(data, {"currency", "unit_amount", "product_data", "product", "tax_behavior"}, prefix)
    if "currency" not in data:
        raise missing_parameter(f"{prefix}[currency]")
    currency = as_str(data["currency"], f"{prefix}[currency]").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise ValidationError(f"Invalid currency: {currency}", param=f"{prefix}[currency]")
    if "unit_amount" not in data:
        raise missing_parameter(f"{prefix}[unit_amount]")
    unit_amount = as_int(data["unit_amount"], f"{prefix}[unit_amount]", minimum=0, maximum=99_999_999)
    if "product" in data:
        product = state.get(
            as_str(data["product"], f"{prefix}[product]"), "product", param=f"{prefix}[product]", status=400
        )
    elif "product_data" in data:
        product_data = as_dict(data["product_data"], f"{prefix}[product_data]")
        only(product_data, {"name", "description", "metadata"}, f"{prefix}[product_data]")
        if not product_data.get("name"):
            raise missing_parameter(f"{prefix}[product_data][name]")
        product = objects.product(
            state,
            name=as_str(product_data["name"], f"{prefix}[product_data][name]"),
            description=product_data.get("description") or None,
            metadata=as_metadata(product_data.get("metadata", {}), f"{prefix}[product_data][metadata]"),
        )
    else:
        raise missing_parameter(f"{prefix}[product_data]")
    price = objects.price(state, currency=currency, unit_amount=unit_amount, product_id=product["id"])
    price["product"] = product  # linked to the stored id once the session is created
    return price, product


def _payment_intent_data(raw) -> dict:
    data = as_dict(raw, "payment_intent_data")
    only(data, {"metadata", "description", "receipt_email"}, "payment_intent_data")
    result = {"metadata": as_metadata(data.get("metadata", {}), "payment_intent_data[metadata]")}
    if "description" in data:
        result["description"] = as_str(data["description"], "payment_intent_data[description]", max_length=1000)
    if "receipt_email" in data:
        result["receipt_email"] = as_email(data["receipt_email"], "payment_intent_data[receipt_email]")
    return result


@route("GET", "/v1/checkout/sessions/(?P<session_id>[^/]+)")
def get_session(req: Request, session_id: str):
    return retrieve(req, "checkout.session", session_id)


@route("GET", "/v1/checkout/sessions/(?P<session_id>[^/]+)/line_items")
def get_session_line_items(req: Request, session_id: str):
    req.state.get(session_id, "checkout.session")
    items = list(req.state.private.get(session_id, {}).get("line_items", []))
    return list_response(req, items, f"/v1/checkout/sessions/{session_id}/line_items")


@route("POST", "/v1/checkout/sessions/(?P<session_id>[^/]+)/expire")
def expire_session(req: Request, session_id: str):
    only(req.params, {"expand"})
    session = req.state.get(session_id, "checkout.session")
    flows.still_open(req.state, session)  # one past its time expires now, and then cannot be expired again
    if session["status"] != "open":
        raise StripeError(
            f'Only Checkout Sessions with a status of "open" can be expired. This session\'s status is '
            f'"{session["status"]}".',
        )
    flows.expire_session(req.state, session)
    return show(req, session)


@route("GET", "/v1/checkout/sessions")
def list_sessions(req: Request):
    fields = {"payment_intent": "payment_intent", "customer": "customer", "status": "status"}
    return list_response(req, filtered(req, "checkout.session", fields), "/v1/checkout/sessions", fields)


# -- payments --------------------------------------------------------------------------------


@route("GET", "/v1/payment_intents/(?P<object_id>[^/]+)")
def get_payment_intent(req: Request, object_id: str):
    return retrieve(req, "payment_intent", object_id)


@route("GET", "/v1/payment_intents")
def list_payment_intents(req: Request):
    fields = {"customer": "customer"}
    return list_response(req, filtered(req, "payment_intent", fields), "/v1/payment_intents", fields)


@route("GET", "/v1/payment_methods/(?P<object_id>[^/]+)")
def get_payment_method(req: Request, object_id: str):
    return retrieve(req, "payment_method", object_id)


@route("GET", "/v1/charges/(?P<object_id>[^/]+)")
def get_charge(req: Request, object_id: str):
    return retrieve(req, "charge", object_id)


@route("GET", "/v1/charges")
def list_charges(req: Request):
    fields = {"customer": "customer", "payment_intent": "payment_intent"}
    return list_response(req, filtered(req, "charge", fields), "/v1/charges", fields)


@route("GET", "/v1/charges/(?P<charge_id>[^/]+)/refunds")
def list_charge_refunds(req: Request, charge_id: str):
    req.state.get(charge_id, "charge")
    refunds = [r for r in req.state.newest_first("refund") if r["charge"] == charge_id]
    return list_response(req, refunds, f"/v1/charges/{charge_id}/refunds")


@route("GET", "/v1/balance_transactions/(?P<object_id>[^/]+)")
def get_balance_transaction(req: Request, object_id: str):
    return retrieve(req, "balance_transaction", object_id)


@route("GET", "/v1/prices/(?P<object_id>[^/]+)")
def get_price(req: Request, object_id: str):
    return retrieve(req, "price", object_id)


@route("GET", "/v1/products/(?P<object_id>[^/]+)")
def get_product(req: Request, object_id: str):
    return retrieve(req, "product", object_id)


@route("GET", "/v1/disputes/(?P<object_id>[^/]+)")
def get_dispute(req: Request, object_id: str):
    return retrieve(req, "dispute", object_id)


@route("GET", "/v1/disputes")
def list_disputes(req: Request):
    fields = {"charge": "charge", "payment_intent": "payment_intent"}
    return list_response(req, filtered(req, "dispute", fields), "/v1/disputes", fields)


# -- refunds ---------------------------------------------------------------------------------

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


@route("POST", "/v1/refunds")
def create_refund(req: Request):
    state, params = req.state, req.params
    only(params, {"charge", "payment_intent", "amount", "reason", "metadata", "expand", "instructions_email"})
    if "charge" not in params and "payment_intent" not in params:
        raise ValidationError(
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
            param="charge",
        )
    amount = as_int(params["amount"], "amount", minimum=1) if "amount" in params else None
    reason = as_choice(params["reason"], "reason", REFUND_REASONS) if "reason" in params else None
    metadata = {k: v for k, v in as_metadata(params.get("metadata", {})).items() if v != ""}

    charge = _refund_target(state, params)
    disputed = [d for d in state.newest_first("dispute") if d["charge"] == charge["id"]]
    if any(d["status"] in ("needs_response", "under_review", "lost") for d in disputed):
        raise StripeError(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed",
            param="charge",
        )
    left = flows.refundable(charge)
    if left <= 0:
        raise StripeError(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded", param="charge"
        )
    amount = left if amount is None else amount
    if amount > left:
        asked, currency = format_amount(amount, charge["currency"]), charge["currency"]
        if charge["amount_refunded"]:
            message = (
                f"Refund amount ({asked}) is greater than unrefunded amount on charge ({format_amount(left, currency)})"
            )
        else:
            message = (
                f"Refund amount ({asked}) is greater than charge amount ({format_amount(charge['amount'], currency)})"
            )
        raise StripeError(message, code="amount_too_large", param="amount")
    refund = flows.create_refund(state, charge=charge, amount=amount, reason=reason, metadata=metadata)
    return show(req, refund)


def _refund_target(state: State, params: dict) -> dict:
    charge = None
    if "charge" in params:
        charge = state.get(as_str(params["charge"], "charge"), "charge", param="charge", status=400)
    if "payment_intent" in params:
        intent_id = as_str(params["payment_intent"], "payment_intent")
        intent = state.get(intent_id, "payment_intent", param="payment_intent", status=400)
        if intent["status"] != "succeeded" or not intent["latest_charge"]:
            raise StripeError(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        if charge and charge["id"] != intent["latest_charge"]:
            raise StripeError(
                f"The charge {charge['id']} does not belong to PaymentIntent {intent_id}.", param="charge"
            )
        charge = state.get(intent["latest_charge"], "charge")
    if charge["status"] != "succeeded" or not charge["paid"]:
        raise StripeError(
            f"Charge {charge['id']} has not succeeded, so it cannot be refunded.",
            code="charge_not_refundable",
            param="charge",
        )
    return charge


@route("GET", "/v1/refunds/(?P<object_id>[^/]+)")
def get_refund(req: Request, object_id: str):
    return retrieve(req, "refund", object_id)


@route("GET", "/v1/refunds")
def list_refunds(req: Request):
    fields = {"charge": "charge", "payment_intent": "payment_intent"}
    return list_response(req, filtered(req, "refund", fields), "/v1/refunds", fields)


# -- events ----------------------------------------------------------------------------------


@route("GET", "/v1/events/(?P<object_id>[^/]+)")
def get_event(req: Request, object_id: str):
    return retrieve(req, "event", object_id)


@route("GET", "/v1/events")
def list_events(req: Request):
    events = req.state.newest_first("event")
    if "type" in req.params:
        # Stripe allows one wildcard: `charge.*`
        pattern = re.escape(as_str(req.params["type"], "type")).replace(r"\*", ".*")
        events = [e for e in events if re.fullmatch(pattern, e["type"])]
    if "types" in req.params:
        types = as_list(req.params["types"], "types")
        events = [e for e in events if e["type"] in types]
    return list_response(req, events, "/v1/events", {"type", "types"})


__all__ = ["ROUTER", "Request", "find_route", "nested", "unrecognized"]
