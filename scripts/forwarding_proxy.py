"""What the TLS proxy of README's Deploy section does for the app server, without the TLS: pass each
request on with `X-Forwarded-Proto: https`, so the site treats it as the HTTPS request it would be.
For scripts/deploy_check.sh, whose Stripe stand-in posts webhooks over plain HTTP.

    python scripts/forwarding_proxy.py LISTEN_PORT APP_SERVER_PORT
"""

import http.client
import http.server
import sys

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "x-forwarded-proto"}


class Forward(http.server.BaseHTTPRequestHandler):
    upstream_port = 0

    def forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
        headers |= {"X-Forwarded-Proto": "https", "X-Forwarded-For": self.client_address[0]}
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        try:
            upstream.request(self.command, self.path, body, headers)
            reply = upstream.getresponse()
            content = reply.read()
        finally:
            upstream.close()
        self.send_response_only(reply.status)
        for name, value in reply.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = forward


if __name__ == "__main__":
    listen_port, Forward.upstream_port = int(sys.argv[1]), int(sys.argv[2])
    print(f"forwarding 127.0.0.1:{listen_port} to 127.0.0.1:{Forward.upstream_port} as https", flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", listen_port), Forward).serve_forever()
