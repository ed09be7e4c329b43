"""A TCP proxy on loopback for fault tests: it forwards to a real server (PostgreSQL) until the
test cuts it, which is what a network failure or a database restart looks like to the app.

    with TcpProxy(("127.0.0.1", 5432)) as proxy:
        DATABASE_URL = f"postgres://postgres@127.0.0.1:{proxy.port}/db"
        proxy.cut()      # every open connection closed, both ways; new ones refused
        proxy.restore()  # accepting again, on the same port

Threads only: one accepting, two per connection pumping bytes each way.
"""

from __future__ import annotations

import contextlib
import socket
import threading

# How often the accept loop looks up from accept(), so cut() takes effect within this.
ACCEPT_POLL_SECONDS = 0.05
JOIN_TIMEOUT_SECONDS = 5


class TcpProxy:
    def __init__(self, target: tuple[str, int], *, host: str = "127.0.0.1", port: int = 0):
        self.target = target
        self.host = host
        self.port = port  # 0: the system picks a free one at the first start
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._accepting = threading.Event()
        self._acceptor: threading.Thread | None = None
        self.accepted = 0  # connections forwarded so far, for a test's message

    def __enter__(self) -> TcpProxy:
        self.restore()
        return self

    def __exit__(self, *exc) -> None:
        self.cut()

    def restore(self) -> None:
        """Listen (again, on the same port) and forward every new connection."""
        if self._acceptor is not None:
            return
        listener = socket.create_server((self.host, self.port), reuse_port=False)
        listener.settimeout(ACCEPT_POLL_SECONDS)
        self.port = listener.getsockname()[1]
        self._accepting.set()
        self._acceptor = threading.Thread(target=self._accept_loop, args=(listener,), name="proxy-accept", daemon=True)
        self._acceptor.start()

    def cut(self) -> None:
        """Stop listening (a new connection is refused) and end every open connection both ways.
        Returns once the port is closed."""
        self._accepting.clear()
        if self._acceptor is not None:
            self._acceptor.join(JOIN_TIMEOUT_SECONDS)
            self._acceptor = None
        with self._lock:
            open_sockets = list(self._connections)
        for sock in open_sockets:
            # shutdown, not close: it wakes the pump blocked in recv(), which then closes its socket.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections) // 2

    def _accept_loop(self, listener: socket.socket) -> None:
        with listener:
            while self._accepting.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                try:
                    upstream = socket.create_connection(self.target, timeout=JOIN_TIMEOUT_SECONDS)
                except OSError:
                    client.close()
                    continue
                upstream.settimeout(None)
                client.settimeout(None)
                with self._lock:
                    self._connections.update((client, upstream))
                    self.accepted += 1
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(source, sink), name="proxy-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            # Either side ending ends the pair: the other pump wakes from its recv() and closes too.
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._connections.discard(source)
            source.close()
