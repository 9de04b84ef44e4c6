"""Load on the captive portal: 100 concurrent simulated phones hitting the OS probes and
the landing page, beside a bare "hello" Flask route served by the same server in the same
run (the ratio is the figure that travels between machines).

    .venv/bin/python bench/portal_load.py [--clients 100] [--seconds 10] [--rate 50] [--workers 2]

Two parts: 100 clients each asking again as soon as answered (throughput, and latency
under saturation: with 2 workers that is clients / throughput), then requests arriving
at a fixed rate (--rate, the latency a visitor sees at that load).

It starts the production server configuration (`appliance.server.run_server`: gunicorn,
sync workers, preload) on 127.0.0.1 and a free port with a fresh data directory and the
in-memory Wi-Fi backend, the app built by `create_app` plus one route `/bench-hello`.
The load generator is asyncio in this process (one connection per request, as phones
behind a portal do; gunicorn's sync workers close each connection). The targets take
turns in 2-second rounds for --seconds each, so that the load of a shared machine hits
them alike; it prints requests/s, p50/p95/p99 latency and errors. It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {
    "hello (bare Flask route)": ["/bench-hello"],
    "probes (Android, Apple, Windows)": ["/generate_204", "/hotspot-detect.html", "/connecttest.txt"],
    "landing page": ["/portal/wifi"],
    "captive API (RFC 8908)": ["/captive-portal/api"],
}


def serve(data_dir: str, port: int, workers: int) -> None:
    """The server process: the appliance's app plus a bare route, production settings."""
    from appliance.config import load_config
    from appliance.server import run_server
    from appliance.web import create_app

    def factory(config):  # type: ignore[no-untyped-def]
        app = create_app(config)
        app.add_url_rule("/bench-hello", "bench_hello", lambda: "hello")
        return app

    config = load_config(data_dir)
    run_server(config, "127.0.0.1", port, workers, app_factory=factory, proc_name="epn-bench")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def one_request(port: int, path: str) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
        ok = data.startswith((b"HTTP/1.1 200", b"HTTP/1.1 204", b"HTTP/1.1 302"))
    except OSError:
        ok = False
    return time.perf_counter() - started, ok


class Tally:
    """Latencies and errors of one target, over all its rounds."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.seconds = 0.0

    def add(self, elapsed: float, ok: bool) -> None:
        self.latencies.append(elapsed)
        self.errors += not ok

    def summary(self) -> dict:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

        return {"requests": len(ordered), "rps": len(ordered) / (self.seconds or 1), "p50": pct(0.50),
                "p95": pct(0.95), "p99": pct(0.99), "errors": self.errors}


async def closed_loop(port: int, paths: list[str], clients: int, seconds: float, tally: Tally) -> None:
    """`clients` phones each sending its next request as soon as the last one answered."""
    deadline = time.perf_counter() + seconds

    async def phone(n: int) -> None:
        i = n
        while time.perf_counter() < deadline:
            tally.add(*await one_request(port, paths[i % len(paths)]))
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(phone(n) for n in range(clients)))
    tally.seconds += time.perf_counter() - started


async def open_loop(port: int, paths: list[str], rate: float, seconds: float, tally: Tally) -> None:
    """Requests arriving at `rate` a second whatever the answers (phones do not wait for
    each other): the latency a visitor sees at that load."""
    tasks = []
    started = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one_request(port, paths[i % len(paths)])))
    for result in await asyncio.gather(*tasks):
        tally.add(*result)
    tally.seconds += time.perf_counter() - started


def run_rounds(port: int, rounds: int, seconds: float, make) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Targets take turns in short rounds, so a change in the machine's load (shared
    cores) affects them alike."""
    tallies = {name: Tally() for name in TARGETS}
    for _ in range(rounds):
        for name, paths in TARGETS.items():
            asyncio.run(make(port, paths, seconds, tallies[name]))
    return {name: tally.summary() for name, tally in tallies.items()}


def print_table(title: str, results: dict[str, dict]) -> None:
    print(title)
    print(f"  {'target':34} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(f"  {name:34} {r['rps']:8.0f} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} {r['errors']:7d}")


def wait_ready(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited before answering")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(12).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not answer within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50, help="Arrival rate of the open-loop part.")
    parser.add_argument("--serve", nargs=2, metavar=("DATA", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.workers)
        return
    with tempfile.TemporaryDirectory(prefix="epn-portal-bench-") as tmp:
        data = Path(tmp) / "data"
        subprocess.run([str(Path(sys.executable).with_name("epn")), "init", "--data", str(data), "--name", "Bench"],
                       check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(data), str(port),
                                   "--workers", str(args.workers)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env={**os.environ, "EPN_WIFI_BACKEND": "fake"})
        try:
            wait_ready(port, server)
            asyncio.run(closed_loop(port, ["/portal/wifi", "/bench-hello"], 10, 1, Tally()))  # warm up
            rounds = max(1, round(args.seconds / 2))
            print(f"gunicorn {args.workers} sync workers, {os.cpu_count()} CPUs, load generator on the same "
                  f"machine; targets take turns, {rounds} rounds of 2 s each")
            closed = run_rounds(port, rounds, 2, lambda p, paths, s, t: closed_loop(p, paths, args.clients, s, t))
            print_table(f"{args.clients} concurrent clients, each asking again at once (throughput):", closed)
            hello = closed["hello (bare Flask route)"]["rps"] or 1
            for name in list(TARGETS)[1:]:
                print(f"  {name}: {closed[name]['rps'] / hello:.0%} of the bare route's throughput")
            opened = run_rounds(port, rounds, 2, lambda p, paths, s, t: open_loop(p, paths, args.rate, s, t))
            print_table(f"{args.rate:g} requests/s arriving (e.g. {args.clients} phones, one probe or page "
                        f"every {args.clients / args.rate:.2g} s): latency seen", opened)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
