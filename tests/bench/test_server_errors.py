"""The benchmark fails a run whose servers answered 500s: it finds them in the servers' logs,
which are written as production writes them (LOG_FORMAT=json, DEBUG off)."""

import logging

from bench.run import server_errors
from hospital.json_log import JsonFormatter
from hospital.log_context import LogContextFilter, request_id_begin, request_id_end


def test_a_500_in_a_servers_json_log_is_counted_with_its_exception(tmp_path):
    log_path = tmp_path / "gunicorn-0-pages.log"
    handler = logging.FileHandler(log_path)
    handler.addFilter(LogContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    request_id_begin("bench-request-0001")
    try:
        try:
            raise ValueError("the seeded doctor has no slots")
        except ValueError:
            # What django.utils.log.log_response writes for an unhandled exception.
            logger.error("Internal Server Error: %s", "/doctors/", exc_info=True, extra={"status_code": 500})
        logger.warning("Not Found: %s", "/nowhere/", extra={"status_code": 404})
    finally:
        request_id_end(sender=None)
        logger.removeHandler(handler)
        handler.close()

    count, kinds = server_errors([log_path])

    assert count == 1
    assert kinds == {"ValueError: the seeded doctor has no slots": 1}
