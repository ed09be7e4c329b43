"""Money is an integer in the currency's minor unit plus an ISO code; this turns it into text."""

CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "aud": "A$"}
# Currencies whose minor unit is the major unit (Stripe's "zero-decimal" currencies we use).
ZERO_DECIMAL_CURRENCIES = {"jpy"}


def format_money(amount: int, currency: str) -> str:
    currency = currency.lower()
    symbol = CURRENCY_SYMBOLS.get(currency, currency.upper() + " ")
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{symbol}{amount:,}"
    major, minor = divmod(amount, 100)
    return f"{symbol}{major:,}.{minor:02d}"
