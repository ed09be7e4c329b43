"""`bench/run.py --servers 2` measures app servers sharing PostgreSQL and Redis: on SQLite, or
without a Redis that answers, it stops before it starts anything and says why."""

import socket

import pytest

from bench.run import parse_args, redis_ready


def test_two_servers_on_sqlite_are_refused_with_the_reason(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/anything.sqlite3")

    with pytest.raises(SystemExit) as stopped:
        parse_args(["--servers", "2"])

    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "--servers 2 needs PostgreSQL" in error
    assert "SQLite is not the scale-out path" in error


def test_two_servers_on_postgresql_and_one_on_sqlite_are_accepted(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/any")
    assert parse_args(["--servers", "2"]).servers == 2
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/anything.sqlite3")
    assert parse_args([]).servers == 1


def test_a_redis_that_does_not_answer_stops_the_run_naming_its_url():
    with socket.socket() as closed:  # a port nothing listens on once this socket is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/8"

    with pytest.raises(RuntimeError, match=f"shares a Redis between the servers; {url} does not answer"):
        redis_ready(url)
