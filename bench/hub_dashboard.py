"""Time the hub's dashboard on a large federation: 1,000 EPNs with a year of weekly,
monthly and yearly reports, written straight into a fresh SQLite hub (the ingest path is
timed by the scale benchmark). Prints the time to build a week's, a month's and the
year's dashboard and its CSV. Not a test: it asserts nothing.

    .venv/bin/python bench/hub_dashboard.py [EPNS]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.config import load_config
from appliance.federation.hub import dashboard
from appliance.federation.hub.db import database, init_hub_database
from appliance.federation.hub.merge import merge_period
from appliance.federation.hub.models import EPN, Report
from appliance.federation.schema import PURPOSES, WEEKDAYS
from appliance.period import Period

TZ = ZoneInfo("Europe/Brussels")
COMMUNES = [f"210{n:02d}" for n in range(1, 20)]


def figures(rng: random.Random, weeks: float) -> dict[str, int]:
    daily = [rng.randint(5, 60) for _ in WEEKDAYS]
    out = {f"visits.weekday.{d}": round(v * weeks) for d, v in zip(WEEKDAYS, daily, strict=True)}
    out["visits.total"] = sum(out.values())
    out.update({f"visits.purpose.{p}": out["visits.total"] // 5 for p in PURPOSES})
    out.update({f"visits.hour.{h:02d}": out["visits.total"] // 10 for h in range(9, 19)})
    out.update({"capacity.computers": rng.randint(3, 50), "hours.open_minutes": round(1800 * weeks),
                "hours.mediator_minutes": round(600 * weeks)})
    return out


def fill(epns: int) -> None:
    rng = random.Random(7)
    now = datetime(2027, 1, 10)
    EPN.insert_many([{"id": f"epn-{n}", "name": f"EPN {n}", "commune": COMMUNES[n % 19], "postal_code": "1000",
                      "organiser": "other", "enrolled_at": datetime(2025, 1, 1)} for n in range(epns)]).execute()
    periods = [*Period.range("2026-W01", "2026-W52"), *Period.range("2026-01", "2026-12"),
               Period.parse("2026")]
    rows = []
    for n in range(epns):
        for period in periods:
            weeks = (period.end - period.start).days / 7
            rows.append({"epn": f"epn-{n}", "period": str(period), "period_kind": period.kind,
                         "period_start": period.start, "period_end": period.end, "schema_version": 1,
                         "sequence": len(rows) + 1, "report_id": f"r{len(rows)}", "key_id": "k", "digest": "d",
                         "figures": json.dumps(figures(rng, weeks), sort_keys=True, separators=(",", ":")), "created_at": now,
                         "received_at": now, "first_received_at": now})
            if len(rows) >= 5000:
                with database.atomic():
                    Report.insert_many(rows).execute()
                rows = []
    with database.atomic():
        Report.insert_many(rows).execute()


def timed(label: str, action) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    print(f"{label:<34} {time.perf_counter() - start:7.3f} s")
    return result


def main() -> None:
    epns = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "config.yaml").write_text("hub:\n  name: bench\n", encoding="utf-8")
        init_hub_database(load_config(Path(directory)))
        with database.connection_context():
            timed(f"fill {epns} EPNs x 65 reports", lambda: fill(epns))
            for name in ("2026-W47", "2026-11", "2026"):
                data = timed(f"dashboard {name}", lambda n=name: dashboard.build_dashboard(Period.parse(n), TZ, 7))
                timed(f"  csv rows {name}", lambda d=data: sum(1 for _ in dashboard.dashboard_rows(d)))
                timed(f"  merge_period alone {name}", lambda n=name: merge_period(Period.parse(n), TZ, 7))
            timed("export of 52 weeks (range)", lambda: sum(1 for d in dashboard.build_range(
                Period.range("2026-W01", "2026-W52"), TZ, 7) for _ in dashboard.dashboard_rows(d)))
            timed("yearly summary timeliness (weeks)", lambda: dashboard.timeliness(
                Period.range("2026-W01", "2026-W52"), TZ, 7, datetime(2027, 1, 10)))


if __name__ == "__main__":
    main()
