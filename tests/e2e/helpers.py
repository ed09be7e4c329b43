"""Small helpers the browser tests share."""

import time


def wait_for(condition, *, timeout: float = 10.0) -> None:
    """Until `condition()` holds: what the stand-in's webhooks do reaches the database a moment
    after the page that caused it."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)
