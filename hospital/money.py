"""Money is an integer in the currency's minor unit plus an ISO code; this turns it into text,
into the major units staff type (90.00 for 9000 pence) and back, exactly, with Decimal."""

from decimal import Decimal

CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "aud": "A$"}
# Currencies whose minor unit is the major unit (Stripe's "zero-decimal" currencies we use).
ZERO_DECIMAL_CURRENCIES = {"jpy"}

# Stripe's minimum charge per currency, in minor units: Checkout refuses a smaller total, so a
# fee below it would make every booking of that doctor a hold nobody can pay for.
# https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "jpy": 50, "aud": 50}


class TooManyDecimals(ValueError):
    """An amount with more decimal places than its currency's minor unit has (90.005 pounds)."""


def decimal_places(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 2


def to_major_units(amount: int, currency: str) -> Decimal:
    """``9000, "gbp"`` -> ``Decimal("90.00")``; ``5000, "jpy"`` -> ``Decimal("5000")``."""
    return Decimal(amount).scaleb(-decimal_places(currency))


def to_minor_units(amount: Decimal, currency: str) -> int:
    """``Decimal("90.1"), "gbp"`` -> ``9010``; refuses what the minor unit cannot hold."""
    places = decimal_places(currency)
    if -amount.as_tuple().exponent > places:
        raise TooManyDecimals(f"{amount} has more than {places} decimal places.")
    return int(amount.scaleb(places))


def format_money(amount: int, currency: str) -> str:
    currency = currency.lower()
    symbol = CURRENCY_SYMBOLS.get(currency, currency.upper() + " ")
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{symbol}{amount:,}"
    major, minor = divmod(amount, 100)
    return f"{symbol}{major:,}.{minor:02d}"
