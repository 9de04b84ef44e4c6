"""The help queue under load: mediators calling "next" and phones taking numbers at once,
against a real `epn serve` (gunicorn, 2 workers) on a fresh SQLite data directory.

    .venv/bin/python bench/helpqueue_calls.py [--tickets 300] [--threads 8]

Prints, for taking numbers (API) and for calling them (API), requests/s and p50/p95/max
latency, and checks afterwards that no ticket was called twice. It asserts nothing about
time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import time as clock_time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def prepare(data_dir: Path) -> str:
    from appliance.accounts import create_token
    from appliance.config import load_config, write_config_file
    from appliance.db import database, init_database
    from appliance.desk.schedule import set_weekly_hours

    data_dir.mkdir(parents=True)
    write_config_file(data_dir, {"queue": {"max_waiting": 999, "stop_minutes_before_closing": 0}})
    init_database(load_config(data_dir).database_path)
    with database.connection_context():
        set_weekly_hours({day: [(clock_time(0, 0), clock_time(23, 59))] for day in range(7)})
        return create_token("bench")


def timed(session: requests.Session, url: str, body: dict, headers: dict) -> tuple[float, int, dict]:
    started = time.perf_counter()
    response = session.post(url, json=body, headers=headers, timeout=60)
    return time.perf_counter() - started, response.status_code, response.json() if response.content else {}


def run(name: str, url: str, body: dict, count: int, threads: int, headers: dict) -> list[dict]:
    session = requests.Session()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(lambda _: timed(session, url, body, headers), range(count)))
    wall = time.perf_counter() - started
    latencies = sorted(r[0] * 1000 for r in results)
    statuses = sorted({r[1] for r in results})
    print(f"{name:<14} {count / wall:7.1f} req/s  p50 {statistics.median(latencies):6.1f} ms  "
          f"p95 {latencies[int(len(latencies) * 0.95) - 1]:6.1f} ms  max {latencies[-1]:6.1f} ms  "
          f"statuses {statuses}")
    return [r[2] for r in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    from tests.conftest import LiveServer

    root = Path(tempfile.mkdtemp(prefix="epn-bench-queue-"))
    token = prepare(root / "data")
    server = LiveServer(root / "data", root / "serve.log", workers=2)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        run("take (API)", server.url + "/api/v1/queue/tickets", {"kind": "forms"}, args.tickets,
            args.threads, headers)
        called = run("call next", server.url + "/api/v1/queue/next", {}, args.tickets, args.threads, headers)
    finally:
        server.stop()
    numbers = [c["number"] for c in called if c]
    print(f"called {len(numbers)} tickets, {len(set(numbers))} distinct")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
