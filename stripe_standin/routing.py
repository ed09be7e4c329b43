"""A tiny method + regular-expression router, one per URL family (the API, the control API)."""

import re
from collections.abc import Callable


class Router:
    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.routes: list[tuple[str, re.Pattern, Callable]] = []

    def route(self, method: str, pattern: str):
        def register(handler):
            self.routes.append((method, re.compile(f"^{self.prefix}{pattern}$"), handler))
            return handler

        return register

    def find(self, method: str, path: str):
        """The handler for `method path` and its named groups, or (None, None)."""
        for route_method, pattern, handler in self.routes:
            match = pattern.match(path)
            if match and route_method == method:
                return handler, match.groupdict()
        return None, None
