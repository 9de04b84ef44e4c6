"""Hub ingest over HTTP beside raw Ed25519 verification of the same bodies, same run.

Run it directly:

    .venv/bin/python bench/hub_ingest.py [--epns 40] [--reports 4000] [--clients 4]
                                         [--workers 2] [--max-seconds 120] [--json]

What it does:
1. makes a temporary hub data directory (config.yaml only, SQLite), adds --epns EPNs and
   enrols a fresh Ed25519 key for each (in-process, through the hub's own functions);
2. builds --reports canonical, signed report bodies: per EPN, closed weeks (the 50 desk
   figures) and months (every figure of schema 1, survey breakdowns included) in the
   order an appliance builds them, one sequence each;
3. verifies every body once with the cached public keys, on one core: raw reports/s;
4. starts `epn hub serve` (gunicorn, sync workers, preload) on 127.0.0.1 and a free port,
   and sends every report once from --clients processes (each EPN's reports in order from
   one process, one request at a time, as an appliance does), with pre-built raw HTTP
   requests so the load generator costs little CPU; the hub and the clients share the
   machine's cores;
5. sends as many `GET /healthz` (one small query) the same way: the floor of this
   server, client and machine for any request;
6. prints reports/s for both and their ratio, the /healthz rate, the answers' status
   counts and the body sizes; then stops the server and deletes the directory, also on
   error or Ctrl-C.

It measures and prints; it never asserts timings. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.config import load_config
from appliance.federation import keys
from appliance.federation.canonical import canonical_bytes
from appliance.federation.hub.db import database, init_hub_database
from appliance.federation.hub.epns import add_epn, enrol, public_key_object
from appliance.federation.schema import SCHEMAS, is_survey_key
from appliance.period import Period

HOST = "127.0.0.1"
HUB = "bench"
EPN_COMMAND = str(Path(sys.executable).with_name("epn"))
FIGURES = sorted(SCHEMAS[1])
DESK = [key for key in FIGURES if not is_survey_key(key)]


@dataclass(frozen=True)
class Signed:
    epn: str
    key_id: str
    body: bytes
    signature: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _enrolled_keys(data: Path, count: int) -> list[tuple[str, Ed25519PrivateKey, str]]:
    config = load_config(data)
    init_hub_database(config)
    now = datetime.now(UTC)
    out = []
    with database.connection_context():
        for number in range(count):
            epn, token = add_epn(f"EPN {number + 1}", "21013", "1060", "other", now, 72)
            key = Ed25519PrivateKey.generate()
            public = keys.b64(keys.public_bytes(key))
            proof = keys.sign(key, keys.ENROL_CONTEXT, f"{token}\n{public}".encode())
            answer = enrol({"token": token, "public_key": public, "proof": proof}, HUB, now)
            out.append((epn.id, key, answer["key_id"]))
    database.close()
    return out


def _periods(count: int) -> list[Period]:
    """Closed weeks and months from 2015 on, in the order their ends come."""
    weeks = Period.range("2015-W01", "2025-W52")
    months = Period.range("2015-01", "2025-12")
    periods = sorted(weeks + months, key=lambda p: (p.end, p.kind != "week"))
    return periods[:count]


def _bodies(enrolled: list[tuple[str, Ed25519PrivateKey, str]], total: int) -> list[Signed]:
    created = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    per_epn = -(-total // len(enrolled))
    out = []
    for epn, key, key_id in enrolled:
        for sequence, period in enumerate(_periods(per_epn), start=1):
            names = FIGURES if period.kind == "month" else DESK
            figures = {name: (sequence * 7 + index) % 997 for index, name in enumerate(names)}
            body = canonical_bytes({"protocol": "epn-report/1", "schema": 1, "hub": HUB, "epn": epn,
                                    "key_id": key_id, "period": str(period), "sequence": sequence,
                                    "report_id": str(uuid.uuid4()), "created_at": created,
                                    "figures": figures})
            out.append(Signed(epn, key_id, body, keys.sign(key, keys.REPORT_CONTEXT, body)))
    return out[:total]


def raw_verification(signed: list[Signed], publics: dict[str, bytes]) -> float:
    """Reports/s of Ed25519 verification alone, cached key objects, one core."""
    objects = {key_id: public_key_object(raw) for key_id, raw in publics.items()}
    started = time.perf_counter()
    for item in signed:
        assert keys.verify(objects[item.key_id], keys.REPORT_CONTEXT, item.body, item.signature)
    return len(signed) / (time.perf_counter() - started)


def _request(item: Signed, port: int) -> bytes:
    head = (f"POST /api/v1/reports HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"EPN-Key-Id: {item.key_id}\r\nEPN-Signature: {item.signature}\r\n"
            f"Content-Length: {len(item.body)}\r\nConnection: close\r\n\r\n")
    return head.encode("ascii") + item.body


def _send_all(requests: list[bytes], port: int, deadline: float, results: multiprocessing.Queue) -> None:
    """One client: each request on its own connection (gunicorn's sync workers close it)."""
    statuses: Counter[str] = Counter()
    for raw in requests:
        if time.monotonic() > deadline:
            statuses["not sent (time limit)"] += 1
            continue
        with socket.create_connection((HOST, port), timeout=30) as sock:
            sock.sendall(raw)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        statuses[answer[9:12].decode("ascii", "replace")] += 1
    results.put(dict(statuses))


def _start_hub(data: Path, port: int, workers: int) -> subprocess.Popen:
    log = open(data / "serve.log", "wb")  # noqa: SIM115  (kept open for the server's life)
    process = subprocess.Popen([EPN_COMMAND, "hub", "serve", "--data", str(data), "--host", HOST,
                                "--port", str(port), "--workers", str(workers)],
                               stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "EPN_LOG_LEVEL": "WARNING"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("epn hub serve exited: " + (data / "serve.log").read_text(errors="replace"))
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64)[9:12] == b"200":
                    return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("epn hub serve did not answer within 30 s")


def _send_from_clients(by_client: list[list[bytes]], port: int, max_seconds: float,
                       ) -> tuple[float, dict[str, int]]:
    """Requests/s with each list sent by its own process, and the answers' statuses."""
    results: multiprocessing.Queue = multiprocessing.Queue()
    deadline = time.monotonic() + max_seconds
    senders = [multiprocessing.Process(target=_send_all, args=(requests, port, deadline, results))
               for requests in by_client]
    started = time.perf_counter()
    for sender in senders:
        sender.start()
    statuses: Counter[str] = Counter()
    for _ in senders:
        statuses.update(results.get())
    elapsed = time.perf_counter() - started
    for sender in senders:
        sender.join()
    sent = sum(n for status, n in statuses.items() if status != "not sent (time limit)")
    return sent / elapsed, dict(statuses)


def http_ingest(signed: list[Signed], data: Path, clients: int, workers: int, max_seconds: float,
                ) -> tuple[float, dict[str, int], float]:
    """Reports/s over HTTP, the answers' statuses, and /healthz requests/s (the floor)."""
    port = _free_port()
    process = _start_hub(data, port, workers)
    try:
        by_client: list[list[bytes]] = [[] for _ in range(clients)]
        epns = sorted({item.epn for item in signed})
        for item in signed:  # each EPN's reports in order, from one client
            by_client[epns.index(item.epn) % clients].append(_request(item, port))
        rate, statuses = _send_from_clients(by_client, port, max_seconds)
        health = f"GET /healthz HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
        floor, _ = _send_from_clients([[health] * len(requests) for requests in by_client], port, max_seconds)
        return rate, statuses, floor
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epns", type=int, default=40)
    parser.add_argument("--reports", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="epn-hub-bench-"))
    try:
        (data / "config.yaml").write_text(f"hub:\n  name: {HUB}\n", encoding="utf-8")
        enrolled = _enrolled_keys(data, args.epns)
        signed = _bodies(enrolled, args.reports)
        publics = {key_id: keys.public_bytes(key) for _, key, key_id in enrolled}
        raw_rate = raw_verification(signed, publics)
        ingest_rate, statuses, floor = http_ingest(signed, data, args.clients, args.workers, args.max_seconds)
        sizes = sorted(len(item.body) for item in signed)
        figures = {
            "reports": len(signed), "epns": args.epns, "workers": args.workers, "clients": args.clients,
            "body_bytes_median": sizes[len(sizes) // 2], "body_bytes_max": sizes[-1],
            "raw_verification_per_s": round(raw_rate), "http_ingest_per_s": round(ingest_rate),
            "ingest_to_verification": round(ingest_rate / raw_rate, 3), "healthz_per_s": round(floor),
            "answers": statuses,
        }
    finally:
        shutil.rmtree(data, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"reports: {figures['reports']} from {args.epns} EPNs; body median {figures['body_bytes_median']} B, "
          f"max {figures['body_bytes_max']} B")
    print(f"raw Ed25519 verification (1 core, cached keys): {figures['raw_verification_per_s']} reports/s")
    print(f"hub ingest over HTTP (gunicorn {args.workers} sync workers, SQLite, {args.clients} clients): "
          f"{figures['http_ingest_per_s']} reports/s")
    print(f"ingest / verification: {figures['ingest_to_verification']}")
    print(f"floor, GET /healthz the same way: {figures['healthz_per_s']} requests/s")
    print(f"answers: {statuses}")


if __name__ == "__main__":
    main()
