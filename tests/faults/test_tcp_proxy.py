"""The fault tests' TCP proxy does what they rely on: forwards, cuts both ways, refuses, restores."""

import socket
import threading

import pytest

from tests.faults.tcp_proxy import TcpProxy

TIMEOUT = 5


@pytest.fixture
def echo_server():
    """A loopback server that sends back what it receives, one thread per connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def echo(conn):
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()
    stop.set()
    thread.join(TIMEOUT)
    listener.close()


def round_trip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
        conn.sendall(payload)
        return conn.recv(4096)


def test_forwards_cuts_open_connections_refuses_new_ones_and_restores_on_the_same_port(echo_server):
    with TcpProxy(echo_server) as proxy:
        assert round_trip(proxy.port, b"before") == b"before"
        held = socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)
        held.sendall(b"x")
        assert held.recv(10) == b"x"

        proxy.cut()

        assert held.recv(10) == b""  # the open connection ended: the client reads end of stream
        held.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)

        port = proxy.port
        proxy.restore()
        assert proxy.port == port
        assert round_trip(proxy.port, b"after") == b"after"
