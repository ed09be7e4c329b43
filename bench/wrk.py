"""wrk, Debian's HTTP load tool, for every GET row of bench/run.py: a C client that does not cap the
bare view the way a Python client on the same 2 cores does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


class WrkMissing(RuntimeError):
    pass


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian when missing and we run as root (as
    scripts/ensure-chromium.sh does for chromium)."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() != 0:
        raise WrkMissing("wrk is missing. Install it with: sudo apt-get install -y wrk")
    print("Installing Debian's wrk for the benchmark...", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)  # noqa: S607 - Debian's own tools
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, **quiet)  # noqa: S607
    path = shutil.which("wrk")
    if not path:
        raise WrkMissing("apt-get installed wrk but it is not on PATH")
    return path


def wrk_version(path: str) -> str:
    # `wrk -v` prints its version line and the usage, and exits 1.
    output = subprocess.run([path, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    return (output.stdout or output.stderr).splitlines()[0].split(" Copyright")[0].strip()


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    bad_status: int  # answers outside 2xx/3xx
    socket_errors: dict[str, int]
    output: str

    @property
    def failures(self) -> int:
        return self.bad_status + sum(self.socket_errors.values())


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNIT_MS[unit]


def parse(output: str) -> WrkResult:
    """wrk's `--latency` report: Requests/sec, the 50 % and 99 % lines, errors if any."""
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if not (done and rps and p50 and p99):
        raise RuntimeError("could not read wrk's report:\n" + output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    names = ("connect", "read", "write", "timeout")
    errors = {name: int(n) for name, n in zip(names, sockets.groups(), strict=True) if int(n)} if sockets else {}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(done.group(1)),
        seconds=float(done.group(2)) * UNIT_MS[done.group(3)] / 1000,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        bad_status=int(bad.group(1)) if bad else 0,
        socket_errors=errors,
        output=output,
    )


def combined(results: list[WrkResult]) -> WrkResult:
    """wrk processes that ran at the same time (one per server) as one load: requests, rps and
    errors summed, the slowest p99, the p50 weighted by requests (wrk gives no distribution to merge)."""
    requests = sum(r.requests for r in results)
    socket_errors: dict[str, int] = {}
    for result in results:
        for name, count in result.socket_errors.items():
            socket_errors[name] = socket_errors.get(name, 0) + count
    return WrkResult(
        requests=requests,
        seconds=max(r.seconds for r in results),
        rps=sum(r.rps for r in results),
        p50_ms=sum(r.p50_ms * r.requests for r in results) / requests if requests else 0.0,
        p99_ms=max(r.p99_ms for r in results),
        bad_status=sum(r.bad_status for r in results),
        socket_errors=socket_errors,
        output="\n".join(r.output for r in results),
    )


def _command(path: str, *, connections: int, threads: int, seconds: float, headers: dict[str, str] | None) -> list:
    command = [path, "--latency", "-c", str(connections), "-t", str(threads), "-d", f"{seconds:g}s", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    return command


def run_wrk(
    path: str, url: str, *, connections: int, threads: int, seconds: float, headers: dict[str, str] | None = None
) -> WrkResult:
    command = _command(path, connections=connections, threads=threads, seconds=seconds, headers=headers)
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30)  # noqa: S603
    return parse(output.stdout)


def run_wrk_together(
    path: str, urls: list[str], *, connections: int, threads: int, seconds: float, headers: dict[str, str] | None = None
) -> WrkResult:
    """One wrk per URL (one per server), all started at once and sharing `connections` and
    `threads` between them, so that the load offered is the same as one wrk against one server."""
    if len(urls) == 1:
        return run_wrk(path, urls[0], connections=connections, threads=threads, seconds=seconds, headers=headers)
    share = {"connections": max(1, connections // len(urls)), "threads": max(1, threads // len(urls))}
    command = _command(path, seconds=seconds, headers=headers, **share)
    processes = [subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True) for url in urls]  # noqa: S603
    try:
        outputs = [process.communicate(timeout=seconds + 30)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process in processes:
        if process.returncode:
            raise subprocess.CalledProcessError(process.returncode, process.args)
    return combined([parse(output) for output in outputs])
