"""`x floor` puts each page beside the floor page fetched the same way: a signed-in page pays for
the session and the user before it renders anything, so its floor is the signed-in one."""

import types

from bench import run as bench
from bench.wrk import WrkResult

RPS = {  # (path, signed in) → rps the fake wrk reports
    ("/bench/bare/", False): 3000.0,
    ("/bench/floor/", False): 600.0,
    ("/bench/floor/", True): 400.0,
    ("/", False): 900.0,
    ("/appointments/", True): 100.0,
}


def fake_wrk(wrk, url, *, connections, threads, seconds, headers=None):
    rps = RPS[(url.removeprefix("http://bench"), bool(headers))]
    return WrkResult(requests=int(rps), seconds=1.0, rps=rps, p50_ms=1.0, p99_ms=2.0, bad_status=0,
                     socket_errors={}, output="")  # fmt: skip


def test_each_page_is_divided_by_the_floor_fetched_as_it_is(monkeypatch):
    server = types.SimpleNamespace(url="http://bench")
    monkeypatch.setattr(bench, "start_server", lambda *args, **kwargs: server)
    monkeypatch.setattr(bench, "page_check", lambda *args, **kwargs: "")
    monkeypatch.setattr(bench, "run_wrk", fake_wrk)
    run = types.SimpleNamespace(stop_server=lambda server: None)
    args = types.SimpleNamespace(server=types.SimpleNamespace(workers=3), rounds=1, wrk="wrk", connections=16,
                                 wrk_threads=2, duration=1)  # fmt: skip
    pages = [
        bench.FLOOR,
        bench.Page("floor, signed in", bench.FLOOR.path, "session-key", "Row 20", public=False),
        bench.Page("home", "/", None, "", public=True),
        bench.Page("My appointments", "/appointments/", "session-key", "Dr ", public=False),
    ]

    rows = {row.name: row for row in bench.measure_pages(run, args, size=10, pages=pages, queries={}, cached=False)}

    assert rows["home"].x_floor == 1.5  # 900 / the anonymous floor's 600
    assert rows["My appointments"].x_floor == 0.25  # 100 / the signed-in floor's 400
    assert rows["My appointments"].x_bare == 100 / 3000
    # The bare view and the floors themselves have none: they are what the others are measured by.
    assert {rows[name].x_floor for name in ("bare view GET", bench.FLOOR.name, "floor, signed in")} == {None}
