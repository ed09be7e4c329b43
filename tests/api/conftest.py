import pytest
from rest_framework.test import APIClient

from tests.api.matrix import World, build_world


def client_with_token(user) -> APIClient:
    """A client calling as `user` with a real API token, as a phone app would."""
    from accounts.models import ApiToken

    client = APIClient()
    if user is not None:
        _, token = ApiToken.objects.create(user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def api_as(world):
    """`api_as("patient")` etc.: a token client for one of the matrix roles (None: anonymous)."""
    return lambda role: client_with_token(world.user(role))
