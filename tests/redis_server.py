"""The real Redis the tests that need one use: 127.0.0.1:6379, a database number per test file.

Without one answering, those tests are skipped on a developer's machine, and fail where
REQUIRE_REDIS=1 (CI sets it): a CI host that lost its Redis must not pass with them unrun.
"""

import os

import pytest
import redis

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_url(db: int) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def redis_or_skip(db: int) -> redis.Redis:
    """A client of Redis database `db` that has answered a ping."""
    client = redis.Redis.from_url(redis_url(db), socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        message = f"no Redis at {redis_url(db)}: these tests need a real one"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"{message} (REQUIRE_REDIS=1): {error}")
        pytest.skip(message)
    return client
