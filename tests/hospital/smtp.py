"""Real SMTP servers on 127.0.0.1 in a thread, for the e-mail outbox tests: ones that misbehave,
and a sink that records what it is sent."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser


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


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    to: str
    subject: str


class SmtpSink:
    """A mail server that accepts every message and records it (Message-ID, To, Subject), one
    thread per connection, so a client killed mid-conversation leaves the others served.

    With `slow_message=n` the n-th message (counting from 1) is recorded as soon as its data has
    arrived, as a real server that has queued it, but its 250 comes only `slow_seconds` later:
    `slow_message_received` is set meanwhile, the moment to kill the client, whose lost reply
    makes it send the message again."""

    def __init__(self, *, slow_message: int | None = None, slow_seconds: float = 20.0):
        self.slow_message = slow_message
        self.slow_seconds = slow_seconds
        self.received: list[ReceivedMessage] = []
        self.slow_message_received = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def __enter__(self) -> SmtpSink:
        self._threads[0].start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        lines = _Lines(conn, self._stop)
        with conn:
            try:
                conn.sendall(b"220 sink.test ESMTP\r\n")
                while (command := lines.next()) is not None:
                    verb = command[:4].upper()
                    if verb == b"QUIT":
                        conn.sendall(b"221 Bye\r\n")
                        return
                    if verb == b"DATA":
                        conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        data = self._read_data(lines)
                        if data is None:
                            return
                        if self._record(data) == self.slow_message:
                            self.slow_message_received.set()
                            self._stop.wait(self.slow_seconds)
                        conn.sendall(b"250 Queued\r\n")
                    elif verb == b"EHLO":
                        conn.sendall(b"250-sink.test\r\n250 8BITMIME\r\n")
                    else:  # HELO, MAIL, RCPT, RSET, NOOP
                        conn.sendall(b"250 OK\r\n")
            except OSError:  # the client went away (killed): nothing more to serve
                return

    @staticmethod
    def _read_data(lines: _Lines) -> bytes | None:
        body = []
        while (line := lines.next()) is not None:
            if line == b".":
                return b"\r\n".join(body)
            body.append(line[1:] if line.startswith(b"..") else line)
        return None

    def _record(self, data: bytes) -> int:
        """Record a message; its place in the order received (from 1)."""
        message = BytesParser(policy=policy.default).parsebytes(data)
        with self._lock:
            self.received.append(
                ReceivedMessage(message_id=message["Message-ID"], to=message["To"], subject=message["Subject"])
            )
            return len(self.received)


class _Lines:
    """CRLF-ended lines from a socket with a short timeout, so the sink can stop between reads."""

    def __init__(self, conn: socket.socket, stop: threading.Event):
        self._conn = conn
        self._stop = stop
        self._buffer = b""

    def next(self) -> bytes | None:
        """The next line without its CRLF; None when the client hung up or the sink stops."""
        while b"\r\n" not in self._buffer:
            if self._stop.is_set():
                return None
            try:
                chunk = self._conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line
