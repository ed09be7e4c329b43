"""Stripe's nested form encoding: ``line_items[0][price_data][currency]=usd`` <-> nested dicts/lists."""

import re
from urllib.parse import parse_qsl

from .errors import ValidationError

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_form(text: str) -> dict:
    """Decode a query string or form body the way Stripe reads it.

    Bracketed keys build nested objects; a level whose keys are all integers (``[0]``, ``[1]``) or
    empty (``[]``) becomes a list, in index order.
    """
    root: dict = {}
    for raw_key, value in parse_qsl(text, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if not match:
            raise ValidationError(f"Invalid parameter name: {raw_key}", param=raw_key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part == "":
                # `a[]=x` appends: give it a fresh index after the ones already present.
                part = str(len(node))
            if last:
                if isinstance(node.get(part), dict):
                    raise ValidationError(f"Invalid hash for parameter {raw_key}", param=raw_key)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise ValidationError(f"Invalid parameter {raw_key}: expected a hash", param=raw_key)
                node = child
    return _listify(root)


def _listify(node):
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
