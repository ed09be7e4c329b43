"""Receipt and credit-note numbers: per prefix and year, from a locked counter row, so numbers are
unique and have no gap, a rolled-back transaction gives its number back, and the year is the
hospital's at the moment of issue."""

import datetime as dt

import pytest
from django.db import connections, transaction

from payments.models import DocumentCounter
from payments.services import document_number_take
from tests.concurrency import run_concurrently

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def take(prefix: str = "R", now: dt.datetime = NOW) -> tuple[int, int]:
    with transaction.atomic():
        return document_number_take(prefix=prefix, now=now)


class Rollback(Exception):
    pass


@pytest.mark.django_db(transaction=True)  # real commits and a real rollback
def test_numbers_count_up_per_prefix_and_a_rolled_back_transaction_gives_its_number_back():
    assert [take(), take()] == [(2026, 1), (2026, 2)]
    with pytest.raises(Rollback), transaction.atomic():
        assert document_number_take(prefix="R", now=NOW) == (2026, 3)
        raise Rollback  # e.g. the receipt's insert failed after its number was taken
    assert take() == (2026, 3)  # no gap
    assert take("CN") == (2026, 1)  # credit notes count on their own
    assert take(now=dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)) == (2027, 1)  # a new year starts at 1
    assert DocumentCounter.objects.get(prefix="R", year=2026).last_number == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "year"),
    [("Asia/Tokyo", 2027), ("Europe/London", 2026), ("America/New_York", 2026)],
)
def test_the_year_is_the_hospitals_at_the_moment_of_issue(settings, zone, year):
    settings.HOSPITAL_TIME_ZONE = zone
    # 16:00 UTC on New Year's Eve is already 01:00 on 1 January 2027 in Tokyo.
    assert take(now=dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)) == (year, 1)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_twenty_issuers_at_once_get_one_to_twenty_unique_and_without_a_gap():
    # A year nobody has used yet: all twenty race to make its counter row too.
    results = run_concurrently(take, threads=20)
    connections.close_all()

    assert not [result for result in results if isinstance(result, Exception)], results
    assert sorted(results) == [(2026, number) for number in range(1, 21)]
    assert DocumentCounter.objects.get(prefix="R", year=2026).last_number == 20
