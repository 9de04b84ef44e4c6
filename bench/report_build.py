"""Time to build a year's report for a large EPN: 75 visits a day for a year.

Run it directly:

    .venv/bin/python bench/report_build.py [--visits-per-day 75] [--year 2025] [--repeat 5] [--json]

What it does:
1. makes a temporary data directory (settings, key, database) with weekday opening hours,
   mediator shifts, and `--visits-per-day` visits on every day of `--year` (random hour,
   purpose, source and services), and an enrolment stored directly (no hub: no network);
2. times, `--repeat` times each: collecting the year's figures alone, then building the
   whole report (figures, survey part, canonical JSON, Ed25519 signature, outbox row and
   sequence in one transaction), for the year, a month and a week;
3. prints the best and the median of each, and the report's size; deletes the directory.

Other parts of the appliance (bookings, loans, printing, Wi-Fi) add their figures when
they exist: their domains register with the same registry and are timed with it. It
measures and prints; it never asserts timings.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from pathlib import Path

from appliance.accounts import create_user
from appliance.config import load_config
from appliance.db import database, init_database
from appliance.desk.schedule import add_shift, set_weekly_hours
from appliance.desk.visits import PURPOSES, SERVICES, SOURCES
from appliance.federation import keys
from appliance.federation.report import build_report, report_figures
from appliance.hardware.clock import FakeClock
from appliance.models import FederationLink, OutboxReport, Visit
from appliance.period import Period


def make_data(directory: Path, year: int, per_day: int, seed: int = 7):  # type: ignore[no-untyped-def]
    (directory / "config.yaml").write_text("site:\n  name: Bench EPN\n  computers: 24\n", encoding="utf-8")
    config = load_config(directory, environ={})
    init_database(config.database_path)
    rng = random.Random(seed)
    with database.connection_context():
        set_weekly_hours({day: [(clock_time(9, 30), clock_time(12, 30)), (clock_time(13, 30), clock_time(18))]
                          for day in range(6)})
        mediator = create_user("mediator", "a-long-enough-password", "mediator", "Mediator")
        for day in range(6):
            add_shift(day, clock_time(10), clock_time(17), mediator.id)
        day, rows = date(year, 1, 1), []
        while day.year == year:
            for _ in range(per_day):
                used = {name: rng.random() < 0.4 for name in SERVICES}
                rows.append({"day": day, "hour": rng.choice([None] + list(range(9, 19))),
                             "purpose": rng.choice(PURPOSES), "source": rng.choice(SOURCES),
                             **{f"used_{name}": value for name, value in used.items()}})
            day += timedelta(days=1)
        with database.atomic():
            for start in range(0, len(rows), 5000):
                Visit.insert_many(rows[start:start + 5000]).execute()
        public = keys.public_bytes(keys.ensure_key(directory))
        FederationLink.create(hub_url="http://127.0.0.1:9", hub_id="bench", epn_id="epn-bench",
                              key_id=keys.key_id(public), enrolled_at=datetime(year, 1, 1))
    return config, len(rows)


def timed(function, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits-per-day", type=int, default=75)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="epn-bench-report-"))
    try:
        config, visits = make_data(directory, args.year, args.visits_per_day)
        now = datetime(args.year + 1, 1, 5, 3, tzinfo=timezone.utc)
        clock = FakeClock(True)
        results = {"visits": visits}
        with database.connection_context():
            year = Period.parse(str(args.year))
            results["figures_year"] = timed(lambda: report_figures(year, config), args.repeat)
            for name, period in (("year", year), ("month", Period.parse(f"{args.year}-06")),
                                 ("week", Period.parse(f"{args.year}-W23"))):
                results[f"build_{name}"] = timed(
                    lambda period=period: build_report(period, config, now=now, clock=clock), args.repeat)
            size = max(len(bytes(row.body)) for row in OutboxReport.select(OutboxReport.body))
        summary = {key: ({"best_ms": round(min(value) * 1000, 1),
                          "median_ms": round(statistics.median(value) * 1000, 1)}
                         if isinstance(value, list) else value) for key, value in results.items()}
        summary["report_bytes"] = size
        if args.json:
            print(json.dumps(summary))
            return
        print(f"{visits} visits in {args.year} ({args.visits_per_day} a day), {args.repeat} runs each")
        for key, value in summary.items():
            if isinstance(value, dict):
                print(f"  {key:<14} best {value['best_ms']:>7.1f} ms   median {value['median_ms']:>7.1f} ms")
        print(f"  largest report {size} bytes")
    finally:
        if not database.is_closed():
            database.close()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
