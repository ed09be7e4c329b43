"""Real SMTP servers that misbehave, on 127.0.0.1 in a thread, for the e-mail outbox tests."""

from __future__ import annotations

import socket
import threading
import time


class BadSmtpServer:
    """Accepts connections, then either says nothing (`silent`: a server that hangs) or refuses
    with 421 and hangs up (`refusing`: a server that is down for maintenance).

    A silent server drops its connections after `hang_seconds`, so a client without a timeout
    makes its test fail instead of hanging the suite."""

    def __init__(self, *, silent: bool, hang_seconds: float = 8.0):
        self.silent = silent
        self.hang_seconds = hang_seconds
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def __enter__(self) -> BadSmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        held: list[tuple[socket.socket, float]] = []
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                conn = None
            if conn is not None:
                self.connections += 1
                if self.silent:
                    held.append((conn, time.monotonic() + self.hang_seconds))
                else:
                    conn.sendall(b"421 hospital.test Service not available, closing channel\r\n")
                    conn.close()
            for conn, deadline in [h for h in held if h[1] < time.monotonic()]:
                conn.close()
                held.remove((conn, deadline))
        for conn, _ in held:
            conn.close()


def use_smtp_server(settings, server: BadSmtpServer) -> None:
    """Point Django's real SMTP backend at `server`."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
