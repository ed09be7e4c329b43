"""The benchmark reads its figures from wrk's report: a misread unit or a missed error line would
print wrong ratios, or pass a run in which every request failed."""

import pytest

from bench.wrk import combined, parse

# A real wrk 4.1.0 report from this machine (`wrk --latency` against a server answering 404), and
# one written in wrk's format with the socket-errors line it prints when connections fail.
NOT_FOUND = """\
Running 1s test @ http://127.0.0.1:8799/no-such-file
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms  679.38us   8.64ms   84.87%
    Req/Sec     2.61k   418.38     3.01k    81.82%
  Latency Distribution
     50%    1.39ms
     75%    1.73ms
     90%    2.15ms
     99%    4.10ms
  2855 requests in 1.10s, 1.42MB read
  Non-2xx or 3xx responses: 2855
Requests/sec:   2596.32
Transfer/sec:      1.29MB
"""

TIMEOUTS = """\
Running 2s test @ http://127.0.0.1:8000/doctors/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   420.10us  120.00us   1.20s    90.00%
    Req/Sec     4.10k   300.00     4.50k    70.00%
  Latency Distribution
     50%  380.00us
     75%  450.00us
     90%  600.00us
     99%    1.02s
  16400 requests in 2.00s, 10.10MB read
  Socket errors: connect 0, read 3, write 0, timeout 7
Requests/sec:   8200.00
Transfer/sec:      5.05MB
"""


def test_a_report_of_not_found_answers_counts_every_one_as_a_failure():
    result = parse(NOT_FOUND)

    assert result.requests == 2855
    assert result.seconds == pytest.approx(1.10)
    assert result.rps == pytest.approx(2596.32)
    assert result.p50_ms == pytest.approx(1.39)
    assert result.p99_ms == pytest.approx(4.10)
    assert result.failures == 2855


def test_microseconds_seconds_and_socket_errors_are_read_in_their_units():
    result = parse(TIMEOUTS)

    assert result.p50_ms == pytest.approx(0.38)
    assert result.p99_ms == pytest.approx(1020)
    assert result.socket_errors == {"read": 3, "timeout": 7}
    assert result.failures == 10


def test_a_report_without_figures_is_an_error_not_a_zero():
    with pytest.raises(RuntimeError, match="could not read"):
        parse("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_two_servers_loaded_at_once_add_up_to_one_load():
    one, other = parse(NOT_FOUND), parse(TIMEOUTS)

    both = combined([one, other])

    assert both.requests == 2855 + 16400
    assert both.rps == pytest.approx(2596.32 + 8200.00)
    assert both.p99_ms == pytest.approx(1020)  # the slower server's
    assert both.p50_ms == pytest.approx((1.39 * 2855 + 0.38 * 16400) / (2855 + 16400))
    assert both.socket_errors == {"read": 3, "timeout": 7}
    assert both.failures == 2855 + 10
