"""The permission matrix leaves no endpoint out: every route and method under /api/v1/ has a row
in some tests/api module's ROWS (each row is checked for all six roles where it is defined)."""

import importlib
import pkgutil

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve

import tests.api
from tests.api.matrix import Row

# The schema and its two documentation pages are public files, not actions.
NOT_ACTIONS = {"api/v1/schema/", "api/v1/docs/", "api/v1/reference/"}


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/") and route not in NOT_ACTIONS:
            view = pattern.callback.cls
            for method in ("get", "post", "put", "patch", "delete"):
                if hasattr(view, method):
                    yield route, method


def _all_rows() -> list[Row]:
    rows = []
    for module in pkgutil.iter_modules(tests.api.__path__):
        if module.name.startswith("test_"):
            rows += getattr(importlib.import_module(f"tests.api.{module.name}"), "ROWS", [])
    return rows


def _route_of(row: Row, world) -> str:
    """The route a row calls. Some rows make their own visit to call: undone at once, as rows of
    several modules share this one world here."""
    with transaction.atomic():
        route = resolve(row.path(world)).route
        transaction.set_rollback(True)
    return route


@pytest.mark.django_db
def test_every_api_route_and_method_has_a_matrix_row(world):
    covered = {(_route_of(row, world), row.method.lower()) for row in _all_rows()}
    endpoints = set(_routes(get_resolver().url_patterns))
    assert endpoints, "no API routes found"
    assert sorted(endpoints - covered) == []
