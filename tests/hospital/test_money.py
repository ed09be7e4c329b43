"""Money is stored in minor units; staff type and read it in major units, converted exactly."""

from decimal import Decimal

import pytest

from hospital.models import Currency
from hospital.money import MINIMUM_CHARGE, TooManyDecimals, to_major_units, to_minor_units
from stripe_standin.money import MINIMUM_AMOUNT


@pytest.mark.parametrize(
    ("amount", "currency", "major"),
    [(9000, "gbp", "90.00"), (5, "usd", "0.05"), (5000, "jpy", "5000"), (123456789, "eur", "1234567.89")],
)
def test_minor_units_read_as_major_units_and_back(amount, currency, major):
    assert str(to_major_units(amount, currency)) == major
    assert to_minor_units(Decimal(major), currency) == amount


@pytest.mark.parametrize(("major", "currency"), [("90.005", "gbp"), ("0.001", "usd"), ("5000.5", "jpy")])
def test_more_decimals_than_the_currency_has_are_refused(major, currency):
    with pytest.raises(TooManyDecimals):
        to_minor_units(Decimal(major), currency)


def test_fewer_decimals_are_exact():
    assert to_minor_units(Decimal("90.1"), "gbp") == 9010
    assert to_minor_units(Decimal("90"), "gbp") == 9000


def test_our_minimum_charges_agree_with_the_stripe_stand_in():
    assert {currency: MINIMUM_AMOUNT[currency] for currency in MINIMUM_CHARGE} == MINIMUM_CHARGE
    assert MINIMUM_CHARGE == {"usd": 50, "eur": 50, "gbp": 30, "jpy": 50, "aud": 50}
    assert set(MINIMUM_CHARGE) == set(Currency.values)  # every currency a doctor may charge in has one
