"""Booking under load: N visitors asking at the same moment for the last place of a
workshop and for the last seat of a slot, against a real `epn serve` (gunicorn, 2 workers)
on a fresh SQLite data directory, through the JSON API.

    .venv/bin/python bench/booking_last_place.py [--visitors 50] [--rounds 5]

Prints, per round, the wall time until every answer came back and p50/p95/max latency,
and checks that exactly one visitor got each place. It asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def prepare(data_dir: Path, rounds: int) -> tuple[str, list[int], list[str]]:
    from appliance.accounts import create_token
    from appliance.booking.catalogue import WorkshopDraft, add_seat, create_workshops
    from appliance.config import load_config
    from appliance.db import database, init_database
    from appliance.desk.schedule import set_weekly_hours

    data_dir.mkdir(parents=True)
    config = load_config(data_dir)
    init_database(config.database_path)
    now = datetime.now(config.tz).replace(tzinfo=None)
    tomorrow = now.date() + timedelta(days=1)
    with database.connection_context():
        set_weekly_hours({day: [(clock_time(8), clock_time(20))] for day in range(7)})
        add_seat("PC 1")
        workshops = [create_workshops(WorkshopDraft("Bench", "", "fr", "beginner", "", tomorrow,
                                                    clock_time(8 + n), 60, 1, None, "", 1), now)[0][0].id
                     for n in range(rounds)]
        slots = [datetime.combine(tomorrow, clock_time(8 + n)).isoformat() for n in range(rounds)]
        return create_token("bench"), workshops, slots


def burst(url: str, bodies: list[dict], headers: dict) -> tuple[float, list[float], list[int]]:
    gate = threading.Barrier(len(bodies))
    sessions = [requests.Session() for _ in bodies]

    def one(index: int) -> tuple[float, int]:
        gate.wait()
        started = time.perf_counter()
        response = sessions[index].post(url, json=bodies[index], headers=headers, timeout=60)
        return time.perf_counter() - started, response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        results = list(pool.map(one, range(len(bodies))))
    return time.perf_counter() - started, [r[0] for r in results], [r[1] for r in results]


def report(name: str, wall: float, latencies: list[float], statuses: list[int]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    won = statuses.count(201)
    print(f"{name:10s} wall {wall * 1000:7.1f} ms  p50 {statistics.median(ordered) * 1000:6.1f} ms  "
          f"p95 {p95 * 1000:6.1f} ms  max {ordered[-1] * 1000:6.1f} ms  got the place: {won}  "
          f"refused (409): {statuses.count(409)}  other: {len(statuses) - won - statuses.count(409)}")
    if won != 1:
        print(f"  !! {won} visitors got the last place")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from tests.conftest import LiveServer

    with tempfile.TemporaryDirectory() as tmp:
        token, workshops, slots = prepare(Path(tmp) / "data", args.rounds)
        server = LiveServer(Path(tmp) / "data", Path(tmp) / "serve.log")
        headers = {"Authorization": f"Bearer {token}"}
        try:
            for workshop, slot in zip(workshops, slots):
                report("workshop", *burst(server.url + "/api/v1/bookings", [
                    {"kind": "workshop", "workshop": workshop, "nickname": f"W{n}"} for n in range(args.visitors)
                ], headers))
                report("seat", *burst(server.url + "/api/v1/bookings", [
                    {"kind": "seat", "starts": slot, "nickname": f"S{n}"} for n in range(args.visitors)
                ], headers))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
