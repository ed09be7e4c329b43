"""Small HTTP helpers for talking to the stand-in the way a browser or the app's endpoint would."""

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit


class WebhookReceiver:
    """A local endpoint that records every webhook POST; `fail_next` makes it answer 500 a few times."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_next = 0
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._changed:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= failing
                    receiver.requests.append(
                        {"headers": dict(self.headers), "body": body, "answered": 500 if failing else 200}
                    )
                    receiver._changed.notify_all()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhook/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def clear(self):
        with self._changed:
            self.requests.clear()
            self.fail_next = 0

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def events(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events()]


def http_request(url: str, method: str = "GET", form: dict | None = None, headers: dict | None = None):
    """One request, redirects not followed; returns (status, headers, text)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    body = urlencode(form) if form is not None else None
    all_headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    all_headers.update(headers or {})
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.request(method, target, body=body, headers=all_headers)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, text
