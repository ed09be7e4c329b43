"""Stripe's error envelope, as exceptions the request handlers raise."""


class StripeError(Exception):
    """An error answered as ``{"error": {...}}``; stored by the idempotency layer like a success.

    Stripe saves the outcome of any request whose endpoint started executing, errors included,
    and replays it for the same Idempotency-Key.
    """

    stored = True

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        **extra,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra

    def body(self) -> dict:
        error = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


class ValidationError(StripeError):
    """A request rejected before the endpoint ran (bad or unknown parameters).

    Stripe does not save these under the Idempotency-Key ("results are only saved if an API
    endpoint started executing"), so a corrected retry with the same key is allowed.
    """

    stored = False


# Stripe names objects in "No such ..." messages by their `object` value, except a few.
_MISSING_NAMES = {"payment_method": "PaymentMethod"}


def no_such(object_name: str, object_id: str, *, param: str = "id", status: int = 404) -> StripeError:
    name = _MISSING_NAMES.get(object_name, object_name)
    return StripeError(f"No such {name}: '{object_id}'", status=status, code="resource_missing", param=param)


def unknown_parameter(name: str) -> ValidationError:
    return ValidationError(f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def missing_parameter(name: str) -> ValidationError:
    return ValidationError(f"Missing required param: {name}.", code="parameter_missing", param=name)


def api_error() -> StripeError:
    return StripeError(
        "An unknown error occurred. Please try again later; if it keeps happening, contact support.",
        status=500,
        type="api_error",
    )
