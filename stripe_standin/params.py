"""Reading and checking request parameters the way Stripe's API does (messages included)."""

import re
from urllib.parse import urlsplit

from .errors import ValidationError, unknown_parameter


def only(params: dict, allowed, prefix: str = "") -> None:
    """Refuse any parameter Stripe would not know here (Stripe rejects unknown parameters)."""
    for name in params:
        if name not in allowed:
            raise unknown_parameter(nested(prefix, name))


def nested(prefix: str, name) -> str:
    return f"{prefix}[{name}]" if prefix else str(name)


def as_str(value, name: str, *, max_length: int = 5000) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"Invalid string: {value!r}", code="parameter_invalid_string", param=name)
    if len(value) > max_length:
        raise ValidationError(
            f"Invalid string: {value[:20]}...; must be at most {max_length} characters",
            code="parameter_invalid_string",
            param=name,
        )
    return value


def as_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value.strip()):
        raise ValidationError(f"Invalid integer: {value}", code="parameter_invalid_integer", param=name)
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValidationError(
            f"This value must be greater than or equal to {minimum}.", code="parameter_invalid_integer", param=name
        )
    if maximum is not None and number > maximum:
        raise ValidationError(
            f"This value must be less than or equal to {maximum}.", code="parameter_invalid_integer", param=name
        )
    return number


def as_bool(value, name: str) -> bool:
    if value in ("true", "false"):
        return value == "true"
    raise ValidationError(f"Invalid boolean: {value}", param=name)


def as_list(value, name: str) -> list:
    if isinstance(value, list):
        return value
    raise ValidationError(f"Invalid array: {name} must be an array", code="parameter_invalid_array", param=name)


def as_dict(value, name: str) -> dict:
    if isinstance(value, dict):
        return value
    raise ValidationError(f"Invalid object: {name} must be a hash", param=name)


def as_choice(value, name: str, choices) -> str:
    value = as_str(value, name)
    if value not in choices:
        listed = ", ".join(choices)
        raise ValidationError(f"Invalid {name}: must be one of {listed}", param=name)
    return value


def as_url(value, name: str) -> str:
    value = as_str(value, name, max_length=5000)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("Not a valid URL", code="url_invalid", param=name)
    return value


def as_email(value, name: str) -> str:
    value = as_str(value, name, max_length=512)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValidationError(f"Invalid email address: {value}", code="email_invalid", param=name)
    return value


def as_metadata(value, name: str = "metadata") -> dict:
    """Stripe's limits: 50 keys, keys up to 40 characters, values up to 500; values are strings."""
    if value == "":
        return {}
    value = as_dict(value, name)
    if len(value) > 50:
        raise ValidationError("Invalid metadata: metadata can have up to 50 keys", param=name)
    for key, item in value.items():
        if len(key) > 40:
            raise ValidationError(f"Invalid metadata key: {key} is longer than 40 characters", param=f"{name}[{key}]")
        if not isinstance(item, str) or len(item) > 500:
            raise ValidationError(
                f"Invalid metadata value for {key}: must be a string of at most 500 characters",
                param=f"{name}[{key}]",
            )
    return dict(value)


def expand_paths(params: dict) -> list[str]:
    if "expand" not in params:
        return []
    paths = as_list(params["expand"], "expand")
    return [as_str(path, f"expand[{index}]") for index, path in enumerate(paths)]
