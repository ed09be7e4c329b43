"""Log lines as one JSON object each, for the log collector (LOG_FORMAT=json, settings.py)."""

from __future__ import annotations

import datetime as dt
import json
import logging

# Attributes every LogRecord has; whatever else a record carries came from `extra` or the context.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """time (UTC, ISO 8601), level, logger, message, request_id, then every extra field; an
    exception's traceback as one `exception` string (in the log, never in a response)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None,
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES:
                line[name] = value
        if line["request_id"] == "-":
            line["request_id"] = None
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # Anything not JSON by nature (a request object Django passes in `extra`) is written as its str().
        return json.dumps(line, default=str, ensure_ascii=False)
