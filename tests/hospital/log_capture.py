"""The site's own log output, as an operator's log collector would read it."""

from __future__ import annotations

import io
import json
import logging

from hospital.json_log import JsonFormatter
from hospital.log_context import LogContextFilter


class LogCapture:
    """Points the configured console handler (settings.LOGGING: its context filter included) at a
    buffer, with the JSON formatter production uses, and reads the lines back."""

    def __init__(self):
        [self.handler] = [
            h for h in logging.getLogger().handlers if any(isinstance(f, LogContextFilter) for f in h.filters)
        ]
        self.buffer = io.StringIO()

    def __enter__(self) -> LogCapture:
        self.old_stream = self.handler.setStream(self.buffer)
        self.old_formatter = self.handler.formatter
        self.handler.setFormatter(JsonFormatter())
        return self

    def __exit__(self, *exc) -> None:
        self.handler.setStream(self.old_stream)
        self.handler.setFormatter(self.old_formatter)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]
