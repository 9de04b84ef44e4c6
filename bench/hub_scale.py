"""The hub at the region's scale: 1,000 EPNs, a year of weekly reports each, over HTTP,
on SQLite and on PostgreSQL, beside raw Ed25519 verification of the same payloads.

Run it directly (PostgreSQL needs root and the Debian package postgresql):

    .venv/bin/python bench/hub_scale.py [--epns 1000] [--weeks 52] [--engines sqlite,postgresql]
                                        [--clients 4] [--workers 2] [--max-seconds 900] [--json]

What it does:
1. generates one Ed25519 key per EPN and builds, once, every signed report body of the
   year 2025 (the last closed year): per EPN its 52 weekly reports (the 50 desk figures),
   then its 12 monthly reports (every figure of schema 1, survey breakdowns included) and
   its yearly one (desk figures), one sequence each, as an appliance builds them;
2. verifies the weekly bodies once with cached public keys, on one core: raw reports/s;
3. for each engine: a fresh data directory (config.yaml only) and, for PostgreSQL, a
   throwaway cluster (initdb + pg_ctl as the postgres user on a free port) with the
   durable defaults (fsync on, synchronous_commit on); SQLite keeps the hub's own pragmas
   (WAL, synchronous=NORMAL). Adds the EPNs and a coordinator account in-process, starts
   `epn hub serve` (gunicorn, the production settings, --workers), enrols every EPN's key
   over HTTP (`POST /api/v1/enrol`), then sends the weekly reports over HTTP from
   --clients processes (each EPN's reports in order from one process, one request at a
   time) and times them; then the monthly and yearly reports, timed apart;
4. signs in and times `GET /dashboard?period=2025` and `GET /dashboard/export.csv?period=2025`
   (first request, then the median of three); when the dashboard is not there it times
   `merge_period` for the year in-process instead, and says so;
5. prints reports/s per engine and its ratio to the raw verification rate.

It measures and prints; it never asserts timings. Loopback only; everything it makes is
deleted at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hub_ingest import (
    DESK,
    FIGURES,
    HOST,
    Signed,
    _free_port,
    _request,
    _send_from_clients,
    _start_hub,
    raw_verification,
)

from appliance.config import load_config
from appliance.federation import keys
from appliance.federation.canonical import canonical_bytes
from appliance.federation.hub.db import database, init_hub_database
from appliance.period import Period

HUB = "bench"
YEAR = 2025
PASSWORD = "benchmark password"


def _bodies(epn_keys: list[tuple[str, Ed25519PrivateKey, str]], weeks: int) -> tuple[list[Signed], list[Signed]]:
    """Every EPN's weekly reports, and its monthly and yearly ones, signed."""
    created = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    week_periods = Period.range(f"{YEAR}-W01", f"{YEAR}-W52")[:weeks]
    others = Period.range(f"{YEAR}-01", f"{YEAR}-12") + [Period.parse(str(YEAR))]
    weekly, monthly = [], []
    for number, (epn, key, key_id) in enumerate(epn_keys):
        for sequence, period in enumerate(week_periods + others, start=1):
            names = FIGURES if period.kind == "month" else DESK  # survey figures travel in months only
            scale = {"week": 1, "month": 4, "year": 52}[period.kind]
            figures = {name: ((number + sequence) * 7 + index) % 97 * scale for index, name in enumerate(names)}
            body = canonical_bytes({"protocol": "epn-report/1", "schema": 1, "hub": HUB, "epn": epn,
                                    "key_id": key_id, "period": str(period), "sequence": sequence,
                                    "report_id": str(uuid.uuid4()), "created_at": created, "figures": figures})
            signed = Signed(epn, key_id, body, keys.sign(key, keys.REPORT_CONTEXT, body))
            (weekly if period.kind == "week" else monthly).append(signed)
    return weekly, monthly


# --- A throwaway PostgreSQL cluster, durable --------------------------------------------


def _as_postgres(*command: str) -> None:
    result = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True,
                            timeout=120, check=False)
    if result.returncode:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


class Cluster:
    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
        if os.geteuid() != 0 or not found:
            raise RuntimeError("PostgreSQL needs root and the Debian package postgresql")
        self.bin = found[-1].parent
        self.base = Path(tempfile.mkdtemp(prefix="epn-hub-scale-pg-"))
        user = pwd.getpwnam("postgres")
        os.chown(self.base, user.pw_uid, user.pw_gid)
        self.port = _free_port()
        _as_postgres(str(self.bin / "initdb"), "-D", str(self.base / "data"), "-U", "postgres", "-A", "trust",
                     "-E", "UTF8")
        # Durable: fsync and synchronous_commit keep their defaults (on).
        _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.base / "data"), "-l", str(self.base / "log"), "-w",
                     "-o", f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB",
                     "start")
        _as_postgres(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "epn_hub")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/epn_hub"

    def stop(self) -> None:
        try:
            _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.base / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


# --- One engine ---------------------------------------------------------------------------


def _prepare(data: Path, count: int) -> list[str]:
    """Add the EPNs and a coordinator account in-process; their enrolment tokens."""
    from appliance.federation.hub.accounts import create_account
    from appliance.federation.hub.epns import add_epn

    init_hub_database(load_config(data))
    now = datetime.now(UTC)
    tokens = []
    with database.connection_context():
        with database.atomic():
            for number in range(count):
                _, token = add_epn(f"EPN {number + 1}", "21013", "1060", "other", now, 72)
                tokens.append(token)
        create_account("bench", PASSWORD, "coordinator")
    close_all = getattr(database.obj, "close_all", None)
    if close_all:
        close_all()
    database.close()
    return tokens


def _enrol_requests(tokens: list[str], epn_keys: list[tuple[str, Ed25519PrivateKey, str]], port: int) -> list[bytes]:
    out = []
    for token, (_, key, _) in zip(tokens, epn_keys, strict=True):
        public = keys.b64(keys.public_bytes(key))
        body = json.dumps({"token": token, "public_key": public,
                           "proof": keys.sign(key, keys.ENROL_CONTEXT, f"{token}\n{public}".encode())}).encode()
        out.append((f"POST /api/v1/enrol HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
    return out


def _by_client(signed: list[Signed], clients: int, port: int) -> list[list[bytes]]:
    lists: list[list[bytes]] = [[] for _ in range(clients)]
    order = {epn: index for index, epn in enumerate(dict.fromkeys(item.epn for item in signed))}
    for item in signed:  # each EPN's reports in order, from one client
        lists[order[item.epn] % clients].append(_request(item, port))
    return lists


def _timed_pages(port: int) -> dict[str, object]:
    """Sign in, then time the year's dashboard and its CSV export (first, median of 3)."""
    base = f"http://{HOST}:{port}"
    session = requests.Session()
    page = session.get(base + "/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page)[1]
    signed = session.post(base + "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False, timeout=30)
    if signed.status_code != 302:
        raise RuntimeError(f"sign-in answered {signed.status_code}")
    out: dict[str, object] = {}
    for name, path in (("dashboard", f"/dashboard?period={YEAR}"), ("csv", f"/dashboard/export.csv?period={YEAR}")):
        times, status, size = [], 0, 0
        for _ in range(4):
            started = time.perf_counter()
            response = session.get(base + path, timeout=120)
            times.append(time.perf_counter() - started)
            status, size = response.status_code, len(response.content)
        out[name] = {"status": status, "bytes": size, "first_s": round(times[0], 3),
                     "median_s": round(statistics.median(times[1:]), 3)}
    return out


def _timed_merge(data: Path) -> float:
    from appliance.federation.hub.merge import merge_period

    config = load_config(data)
    init_hub_database(config, migrate=False)
    with database.connection_context():
        started = time.perf_counter()
        merge_period(Period.parse(str(YEAR)), config.tz, config.hub.on_time_days)
        return time.perf_counter() - started


def run_engine(engine: str, epn_keys, weekly: list[Signed], monthly: list[Signed],  # type: ignore[no-untyped-def]
               args: argparse.Namespace) -> dict[str, object]:
    cluster = Cluster() if engine == "postgresql" else None
    data = Path(tempfile.mkdtemp(prefix=f"epn-hub-scale-{engine}-"))
    process = None
    try:
        url = f"  database_url: {cluster.url}\n" if cluster else ""
        (data / "config.yaml").write_text(f"hub:\n  name: {HUB}\n{url}", encoding="utf-8")
        started = time.perf_counter()
        tokens = _prepare(data, len(epn_keys))
        added = time.perf_counter() - started
        port = _free_port()
        process = _start_hub(data, port, args.workers)
        enrol_lists = [[] for _ in range(args.clients)]  # type: list[list[bytes]]
        for index, raw in enumerate(_enrol_requests(tokens, epn_keys, port)):
            enrol_lists[index % args.clients].append(raw)
        enrol_rate, enrol_answers = _send_from_clients(enrol_lists, port, args.max_seconds)
        weekly_rate, weekly_answers = _send_from_clients(_by_client(weekly, args.clients, port), port,
                                                         args.max_seconds)
        monthly_rate, monthly_answers = _send_from_clients(_by_client(monthly, args.clients, port), port,
                                                           args.max_seconds)
        result: dict[str, object] = {
            "engine": engine, "add_epns_s": round(added, 2), "enrol_per_s": round(enrol_rate),
            "enrol_answers": enrol_answers, "weekly_reports": len(weekly), "ingest_per_s": round(weekly_rate),
            "weekly_answers": weekly_answers, "monthly_yearly_reports": len(monthly),
            "monthly_yearly_per_s": round(monthly_rate), "monthly_yearly_answers": monthly_answers,
        }
        try:
            result["pages"] = _timed_pages(port)
        except (RuntimeError, TypeError, requests.RequestException) as error:
            result["pages"] = f"not measured ({error})"
        pages = result["pages"]
        if not isinstance(pages, dict) or pages["dashboard"]["status"] != 200:  # type: ignore[index]
            result["merge_period_year_s"] = round(_timed_merge(data), 3)
        return result
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        close_all = getattr(database.obj, "close_all", None)
        if close_all:
            close_all()
        if cluster:
            cluster.stop()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epns", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    epn_keys = []
    for number in range(args.epns):
        key = Ed25519PrivateKey.generate()
        epn_keys.append((f"epn-{number + 1}", key, keys.key_id(keys.public_bytes(key))))
    started = time.perf_counter()
    weekly, monthly = _bodies(epn_keys, args.weeks)
    built = time.perf_counter() - started
    raw_rate = raw_verification(weekly, {key_id: keys.public_bytes(key) for _, key, key_id in epn_keys})
    sizes = sorted(len(item.body) for item in weekly)
    figures: dict[str, object] = {
        "epns": args.epns, "weekly_reports": len(weekly), "monthly_yearly_reports": len(monthly),
        "clients": args.clients, "workers": args.workers, "cores": os.cpu_count(),
        "weekly_body_bytes_median": sizes[len(sizes) // 2], "build_and_sign_s": round(built, 1),
        "raw_verification_per_s": round(raw_rate), "engines": [],
    }
    for engine in [name.strip() for name in args.engines.split(",") if name.strip()]:
        try:
            result = run_engine(engine, epn_keys, weekly, monthly, args)
        except RuntimeError as error:
            result = {"engine": engine, "skipped": str(error)}
        if "ingest_per_s" in result:
            result["ingest_to_verification"] = round(result["ingest_per_s"] / raw_rate, 3)  # type: ignore[operator]
        figures["engines"].append(result)  # type: ignore[union-attr]
        if not args.json:
            _print(figures, result)
    if args.json:
        print(json.dumps(figures, indent=2))


def _print(figures: dict[str, object], result: dict[str, object]) -> None:
    if not getattr(_print, "headed", False):
        _print.headed = True  # type: ignore[attr-defined]
        print(f"{figures['epns']} EPNs, {figures['weekly_reports']} weekly reports (median body "
              f"{figures['weekly_body_bytes_median']} B) + {figures['monthly_yearly_reports']} monthly/yearly; "
              f"{figures['cores']} cores; built and signed in {figures['build_and_sign_s']} s")
        print(f"raw Ed25519 verification of the weekly payloads (1 core, cached keys): "
              f"{figures['raw_verification_per_s']} reports/s")
    engine = result["engine"]
    if "skipped" in result:
        print(f"{engine}: skipped ({result['skipped']})")
        return
    print(f"{engine}: {figures['epns']} EPNs added in {result['add_epns_s']} s, enrolled over HTTP at "
          f"{result['enrol_per_s']}/s {result['enrol_answers']}")
    print(f"{engine}: weekly ingest over HTTP ({figures['workers']} gunicorn sync workers, "
          f"{figures['clients']} clients): {result['ingest_per_s']} reports/s "
          f"= {result['ingest_to_verification']} of raw verification {result['weekly_answers']}")
    print(f"{engine}: monthly and yearly reports: {result['monthly_yearly_per_s']} reports/s "
          f"{result['monthly_yearly_answers']}")
    pages = result["pages"]
    if isinstance(pages, dict):
        for name, timing in pages.items():
            print(f"{engine}: {name} of {YEAR}: HTTP {timing['status']}, {timing['bytes']} B, first "
                  f"{timing['first_s']} s, then median {timing['median_s']} s")
    else:
        print(f"{engine}: pages {pages}")
    if "merge_period_year_s" in result:
        print(f"{engine}: merge_period({YEAR}) in-process instead: {result['merge_period_year_s']} s")


if __name__ == "__main__":
    main()
