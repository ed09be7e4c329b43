"""Run one function in many real threads at once, each with its own database connection."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connections


def run_concurrently(function: Callable[[], object], *, threads: int) -> list[object]:
    """Start `threads` calls together; return each call's result or the exception it raised."""
    barrier = threading.Barrier(threads)

    def call():
        try:
            barrier.wait()
            return function()
        except Exception as error:  # the caller inspects what each thread got
            return error
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda _: call(), range(threads)))
