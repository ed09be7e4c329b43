"""Submits at once: one visit's form sent many times issues one prescription; many doctors issuing
at once get distinct, consecutive numbers (the year's first number included)."""

import queue

import pytest

from prescriptions.models import Prescription
from prescriptions.services import PrescriptionError
from tests.concurrency import run_concurrently
from tests.factories import DoctorFactory, visit
from tests.prescriptions.conftest import issue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("threads", [pytest.param(8, marks=pytest.mark.postgres_only), 3])
def test_one_visits_form_submitted_many_times_at_once_issues_once(threads):
    appointment = visit(status="completed")
    results = run_concurrently(lambda: issue(appointment), threads=threads)

    issued = [result for result in results if isinstance(result, Prescription)]
    refused = [result for result in results if isinstance(result, PrescriptionError)]
    assert len(issued) == 1 and len(refused) == threads - 1, results
    assert {error.existing.pk for error in refused} == {issued[0].pk}
    assert Prescription.objects.count() == 1


@pytest.mark.parametrize("threads", [pytest.param(8, marks=pytest.mark.postgres_only), 3])
def test_doctors_issuing_at_once_get_consecutive_numbers(threads):
    visits = queue.SimpleQueue()
    for _ in range(threads):
        visits.put(visit(status="completed", doctor=DoctorFactory(timezone="Europe/London")))
    results = run_concurrently(lambda: issue(visits.get()), threads=threads)

    assert all(isinstance(result, Prescription) for result in results), results
    assert sorted(int(result.number[-6:]) for result in results) == list(range(1, threads + 1))
