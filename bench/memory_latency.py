"""Memory and latency of the production server on a fresh demo data directory.

Run it with `make bench` (which runs `.venv/bin/python bench/memory_latency.py`), or
directly:

    .venv/bin/python bench/memory_latency.py [--workers 2] [--requests 1000]
                                             [--clients 4] [--max-seconds 120] [--json]

What it does:
1. `epn demo --data TMP --no-serve` in a temporary directory, and `epn token add`;
2. starts `epn serve` (gunicorn, sync workers, preload) on 127.0.0.1 and a free port,
   and `epn worker` (the huey consumer);
3. once /healthz answers, reads RSS and PSS of each process tree from
   /proc/<pid>/smaps_rollup (children found through /proc/<pid>/task/*/children);
4. sends a fixed mix of requests (at most --requests, at most --max-seconds) from a
   few threads, each signed in as a staff member through the real login form;
5. prints the worker count, memory at idle and after the load, requests/s, and
   p50/p95/p99 latency of GET /staff/ and POST /staff/visits;
6. stops both servers (SIGTERM, then SIGKILL) and deletes the temporary directory,
   also on error or Ctrl-C.

It measures and prints; it never asserts timings. Linux only (/proc). MB = 1024 kB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

HOST = "127.0.0.1"
LOGINS = [("sophie", "demo-coordination"), ("karim", "demo-mediation")]
PURPOSES = ["job_search", "learning_ict", "leisure_culture_info", "housing_elearning",
            "admin_procedures"]
# Request kind -> share of the mix.
MIX = {
    "GET /staff/": 50,
    "POST /staff/visits": 15,
    "GET /staff/visits": 10,
    "GET /": 10,
    "GET /staff/schedule/": 5,
    "GET /healthz": 5,
    "GET /api/v1/today": 5,
}
EXPECTED_STATUS = {kind: 302 if kind.startswith("POST") else 200 for kind in MIX}
CSRF_RE = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


# --- processes ---------------------------------------------------------------------------

def epn_command() -> str:
    """The `epn` console script beside this Python, else the repository's venv."""
    for candidate in (Path(sys.executable).parent / "epn",
                      Path(__file__).resolve().parent.parent / ".venv" / "bin" / "epn"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("epn")
    if not found:
        sys.exit("epn not found: run `make install` first")
    return found


def clean_env() -> dict[str, str]:
    """The environment without EPN_* variables, so only the demo's settings apply."""
    return {k: v for k, v in os.environ.items() if not k.startswith("EPN_")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def run_epn(epn: str, *args: str) -> str:
    """Run an epn command to completion; its stdout."""
    done = subprocess.run([epn, *args], check=False, env=clean_env(), capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"epn {' '.join(args)} failed: {done.stderr.strip() or done.stdout}")
    return done.stdout


def start(epn: str, log_path: Path, *args: str) -> subprocess.Popen:
    """Start a long-running epn command in its own process group, output to a log file."""
    with open(log_path, "wb") as log:
        return subprocess.Popen([epn, *args], env=clean_env(), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM, wait, then SIGKILL the whole process group (never anything else)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # leftovers of the group, e.g. orphaned workers
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- memory ------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    """Direct children of a process, from /proc/<pid>/task/*/children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending += children(current)
    return tree


def smaps_rollup(pid: int) -> dict[str, int]:
    """Rss and Pss of one process in kB (zeros if it has just exited)."""
    values = {"Rss": 0, "Pss": 0}
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0])
    return values


def tree_memory(pid: int) -> dict[str, Any]:
    """RSS and PSS (MB) summed over a process tree, and its process count."""
    pids = process_tree(pid)
    rss = pss = 0
    for member in pids:
        values = smaps_rollup(member)
        rss += values["Rss"]
        pss += values["Pss"]
    return {"rss_mb": round(rss / 1024, 1), "pss_mb": round(pss / 1024, 1), "processes": len(pids)}


def memory_snapshot(web: subprocess.Popen, worker: subprocess.Popen) -> dict[str, Any]:
    snapshot = {"web": tree_memory(web.pid), "worker": tree_memory(worker.pid)}
    snapshot["total"] = {
        key: round(snapshot["web"][key] + snapshot["worker"][key], 1) for key in ("rss_mb", "pss_mb")
    }
    return snapshot


# --- readiness ---------------------------------------------------------------------------

def wait_ready(base: str, web: subprocess.Popen, worker: subprocess.Popen, workers: int,
               logs: dict[str, Path], timeout: float = 60.0) -> None:
    """Until /healthz answers 200 and gunicorn has all its workers (fails if either exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in (("serve", web), ("worker", worker)):
            if process.poll() is not None:
                raise RuntimeError(f"epn {name} exited ({process.returncode}):\n{log_tail(logs[name])}")
        try:
            healthy = requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            healthy = False
        if healthy and len(children(web.pid)) >= workers:
            return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{log_tail(logs['serve'])}")


# --- clients -----------------------------------------------------------------------------

def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    if not match:
        raise RuntimeError("no csrf_token in the page")
    return match.group(1)


def signed_in_session(base: str, username: str, password: str) -> tuple[requests.Session, str]:
    """A session signed in through the login form, and a CSRF token for its forms."""
    session = requests.Session()
    page = session.get(f"{base}/staff/login", timeout=10)
    answer = session.post(f"{base}/staff/login", timeout=30, data={
        "username": username, "password": password, "csrf_token": csrf_token(page.text)})
    if answer.status_code != 200 or not answer.url.rstrip("/").endswith("/staff"):
        raise RuntimeError(f"login of {username} failed: {answer.status_code} {answer.url}")
    home = session.get(f"{base}/staff/", timeout=10)
    return session, csrf_token(home.text)


def request_plan(total: int, seed: int = 1060) -> list[str]:
    """`total` request kinds in the MIX proportions, shuffled reproducibly."""
    plan = [kind for kind, share in MIX.items() for _ in range(round(total * share / 100))]
    plan = (plan + ["GET /staff/"] * total)[:total]  # rounding: top up with the home page
    random.Random(seed).shuffle(plan)
    return plan


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in MIX})
    statuses: dict[int, int] = field(default_factory=dict)
    failed: int = 0  # neither 2xx nor 3xx, or no answer at all
    unexpected: int = 0  # a 2xx/3xx other than the one the request should get
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[kind].append(seconds * 1000)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if not 200 <= status < 400:
                self.failed += 1
            elif status != EXPECTED_STATUS[kind]:
                self.unexpected += 1

    @property
    def count(self) -> int:
        return sum(len(values) for values in self.latencies.values())


def send(session: requests.Session, base: str, kind: str, csrf: str, api_token: str,
         rng: random.Random) -> int:
    """Send one request of the given kind; its status (redirects are not followed)."""
    method, path = kind.split(" ", 1)
    headers, data = {}, None
    if path.startswith("/api/"):
        headers["Authorization"] = f"Bearer {api_token}"
    if method == "POST":
        data = {"csrf_token": csrf, "purpose": rng.choice(PURPOSES)}
        if rng.random() < 0.5:
            data["services"] = "computer"
    answer = session.request(method, base + path, headers=headers, data=data, timeout=30,
                             allow_redirects=False)
    return answer.status_code


def client(base: str, session: requests.Session, csrf: str, api_token: str,
           jobs: Iterator[str], jobs_lock: threading.Lock, deadline: float,
           results: Results, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        with jobs_lock:
            kind = next(jobs, None)
        if kind is None:
            return
        started = time.perf_counter()
        try:
            status = send(session, base, kind, csrf, api_token, rng)
        except requests.RequestException:
            status = 0
        results.record(kind, time.perf_counter() - started, status)


def run_load(base: str, api_token: str, total: int, clients: int,
             max_seconds: float) -> tuple[Results, float]:
    """Send the request plan from `clients` threads; the results and the elapsed time."""
    sessions = [signed_in_session(base, *LOGINS[i % len(LOGINS)]) for i in range(clients)]
    jobs, jobs_lock, results = iter(request_plan(total)), threading.Lock(), Results()
    started = time.monotonic()
    deadline = started + max_seconds
    threads = [
        threading.Thread(target=client, daemon=True, args=(
            base, session, csrf, api_token, jobs, jobs_lock, deadline, results, i))
        for i, (session, csrf) in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():  # short joins so that Ctrl-C gets through
            thread.join(0.2)
    elapsed = time.monotonic() - started
    for session, _ in sessions:
        session.close()
    return results, elapsed


# --- figures -----------------------------------------------------------------------------

def percentile(values: list[float], pct: float) -> float | None:
    """Linear-interpolated percentile (None without values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(values: list[float]) -> dict[str, Any]:
    summary: dict[str, Any] = {"count": len(values)}
    for pct in (50, 95, 99):
        value = percentile(values, pct)
        summary[f"p{pct}_ms"] = None if value is None else round(value, 1)
    return summary


def figures(workers: int, clients: int, idle: dict, loaded: dict, results: Results,
            elapsed: float) -> dict[str, Any]:
    return {
        "workers": workers,
        "web_processes": idle["web"]["processes"],
        "clients": clients,
        "memory_idle": idle,
        "memory_after_load": loaded,
        "requests": results.count,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(results.count / elapsed, 1) if elapsed else None,
        "latency": {kind: latency_summary(results.latencies[kind])
                    for kind in ("GET /staff/", "POST /staff/visits")},
        "statuses": {str(k): v for k, v in sorted(results.statuses.items())},
        "non_2xx_3xx": results.failed,
        "unexpected_status": results.unexpected,
    }


def print_report(f: dict[str, Any]) -> None:
    print(f"gunicorn sync workers: {f['workers']} (web tree: {f['web_processes']} processes, "
          f"master + workers); load clients: {f['clients']} threads")
    print(f"{'memory (MB)':<22}{'web RSS':>9}{'web PSS':>9}{'wrk RSS':>9}{'wrk PSS':>9}"
          f"{'tot RSS':>9}{'tot PSS':>9}")
    for label, key in (("idle", "memory_idle"), ("after load", "memory_after_load")):
        m = f[key]
        print(f"{label:<22}{m['web']['rss_mb']:>9}{m['web']['pss_mb']:>9}"
              f"{m['worker']['rss_mb']:>9}{m['worker']['pss_mb']:>9}"
              f"{m['total']['rss_mb']:>9}{m['total']['pss_mb']:>9}")
    print(f"requests: {f['requests']} in {f['seconds']} s = {f['requests_per_s']} req/s")
    for kind, lat in f["latency"].items():
        print(f"{kind:<20} n={lat['count']:<5} p50 {lat['p50_ms']} ms  p95 {lat['p95_ms']} ms  "
              f"p99 {lat['p99_ms']} ms")
    print(f"statuses: {f['statuses']}; non-2xx/3xx: {f['non_2xx_3xx']}; "
          f"unexpected 2xx/3xx: {f['unexpected_status']}")


# --- main --------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--requests", type=int, default=1000, help="requests to send (default 1000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="load time limit (default 120)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 16 or args.requests < 1 or args.clients < 1:
        parser.error("--workers 1-16, --requests and --clients at least 1")
    return args


def benchmark(args: argparse.Namespace, tmp: Path, processes: list[subprocess.Popen]) -> dict:
    say = (lambda *_: None) if args.json else (lambda text: print(text, file=sys.stderr))
    epn, data = epn_command(), tmp / "data"
    say(f"creating demo data in {data} ...")
    run_epn(epn, "demo", "--data", str(data), "--no-serve")
    api_token = run_epn(epn, "token", "add", "--data", str(data), "--name", "bench").strip().splitlines()[-1]
    port = free_port()
    base = f"http://{HOST}:{port}"
    logs = {"serve": tmp / "serve.log", "worker": tmp / "worker.log"}
    processes.append(start(epn, logs["serve"], "serve", "--data", str(data), "--host", HOST,
                           "--port", str(port), "--workers", str(args.workers)))
    processes.append(start(epn, logs["worker"], "worker", "--data", str(data)))
    web, worker = processes
    wait_ready(base, web, worker, args.workers, logs)
    time.sleep(1.0)  # let the consumer finish starting
    idle = memory_snapshot(web, worker)
    say(f"sending up to {args.requests} requests with {args.clients} clients to {base} ...")
    results, elapsed = run_load(base, api_token, args.requests, args.clients, args.max_seconds)
    loaded = memory_snapshot(web, worker)
    return figures(args.workers, args.clients, idle, loaded, results, elapsed)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and SIGTERM to this script also go through the clean-up below.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="epn-bench-"))
    processes: list[subprocess.Popen] = []
    try:
        result = benchmark(args, tmp, processes)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
