"""`expand[]`: replace id strings with the objects they name, and fill in includable fields.

Stripe only expands fields declared expandable, up to four levels deep, and answers 400 for
anything else; the same rules apply here so a client that works against the stand-in sends
expansions real Stripe accepts.
"""

import copy

from .errors import ValidationError
from .objects import list_object
from .store import State

# Fields whose value is an id of another object (Stripe marks these `expandable`).
# fmt: off
EXPANDABLE = frozenset((
    "balance_transaction", "charge", "customer", "default_source", "discounts", "failure_balance_transaction",
    "invoice", "latest_charge", "on_behalf_of", "payment_intent", "payment_method", "price", "product", "review",
    "setup_intent", "source", "subscription",
))
# fmt: on

MAX_DEPTH = 4


def _line_items(state: State, obj: dict) -> dict:
    items = state.private.get(obj["id"], {}).get("line_items", [])
    return list_object(copy.deepcopy(items), f"/v1/checkout/sessions/{obj['id']}/line_items")


# (object type, field) -> how to build a field Stripe leaves out unless asked for.
INCLUDABLE = {
    ("checkout.session", "line_items"): _line_items,
    ("charge", "refunds"): lambda state, obj: state.charge_refunds(obj),
    ("customer", "sources"): lambda state, obj: list_object([], f"/v1/customers/{obj['id']}/sources"),
    ("customer", "tax_ids"): lambda state, obj: list_object([], f"/v1/customers/{obj['id']}/tax_ids"),
}


def apply(state: State, obj: dict, paths: list[str]) -> dict:
    """Expand `paths` in place on `obj` (already a copy) and return it."""
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise ValidationError(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}", param="expand"
            )
        _expand(state, obj, parts, path)
    return obj


def _expand(state: State, node, parts: list[str], path: str) -> None:
    if isinstance(node, list):
        for item in node:
            _expand(state, item, parts, path)
        return
    if not isinstance(node, dict):
        raise _cannot(path)
    key, rest = parts[0], parts[1:]
    kind = node.get("object")
    if key == "breakdown" and "amount_discount" in node:  # total_details.breakdown
        node.setdefault("breakdown", {"discounts": [], "taxes": []})
    elif key not in node:
        build = INCLUDABLE.get((kind, key))
        if build is None:
            raise _cannot(path)
        node[key] = build(state, node)
    elif key in EXPANDABLE:
        node[key] = _resolve(state, node[key], path)
    elif not rest:  # a plain field (an e-mail, a status) has nothing to expand into
        raise _cannot(path)
    if rest and node[key] is not None:
        _expand(state, node[key], rest, path)


def _resolve(state: State, value, path: str):
    if isinstance(value, list):
        return [_resolve(state, item, path) for item in value]
    if isinstance(value, str):
        obj = state.find(value)
        if obj is None:
            raise _cannot(path)
        return state.snapshot(obj)
    return value  # null, or already an object


def _cannot(path: str) -> ValidationError:
    return ValidationError(f"This property cannot be expanded ({path}).", param="expand")
