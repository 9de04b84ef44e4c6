"""Hub fixtures: a hub data directory and app with a fixed clock, and `Appliance`, a
stand-in for an enrolled appliance that builds, signs and pushes canonical reports.

Every test using `hub_dir` (so `hub_app`, `hub_client`, `appliance`) runs twice: on
SQLite, and on PostgreSQL in one throwaway cluster for the session (initdb + pg_ctl as
the postgres user on a free port), each test in a fresh database cloned from a migrated
template. Without root or without the PostgreSQL binaries the postgresql variants skip
with a one-line reason (under CI=true a skip fails the run: `make test` installs them).
"""

from __future__ import annotations

import os
import pwd
import queue
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.federation import keys
from appliance.federation.canonical import canonical_bytes
from appliance.federation.hub.app import create_hub_app
from appliance.federation.hub.db import database
from appliance.federation.hub.epns import add_epn
from appliance.federation.hub.models import EPN, IngestLog, Report

HUB_NAME = "brussels"
# Wednesday 25 November 2026: 2026-W47 (16-22 November) and October are closed.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CREATED = "2026-11-24T03:00:00Z"


def write_hub_config(directory: Path, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(f"hub:\n  name: {HUB_NAME}\n{extra}", encoding="utf-8")
    return directory


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _as_postgres(*command: str) -> None:
    result = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True,
                            timeout=120, check=False)
    if result.returncode:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


def postgres_unavailable() -> str:
    """Why no throwaway PostgreSQL cluster can be started here, or "" if one can."""
    if os.geteuid() != 0:
        return "PostgreSQL variants need root (initdb runs as the postgres user): SQLite only"
    if _pg_bin() is None or shutil.which("runuser") is None:
        return "PostgreSQL binaries not installed (Debian package postgresql; `make test` installs it)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres system user (the Debian package postgresql creates it)"
    return ""


TEMPLATE = "hub_template"


class PostgresCluster:
    """A running throwaway cluster: user postgres, trust authentication, 127.0.0.1."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        # Databases are copied and dropped in the background, ahead of the tests using
        # them: a copy takes ~0.1 s, which one test at a time would wait for.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="hub-pg")
        self._ready: queue.Queue[Future[str]] = queue.Queue()

    def start(self, ahead: int = 2) -> None:
        for _ in range(ahead):
            self._ready.put(self._worker.submit(self.create))

    def take(self) -> str:
        """A fresh copy of the migrated template, made ahead of time; its URL."""
        self._ready.put(self._worker.submit(self.create))
        return self._ready.get().result(timeout=120)

    def release(self, url: str) -> None:
        """Drop a database taken with `take`, in the background."""
        self._worker.submit(self.drop, url)

    def stop(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)

    def url(self, name: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{name}"

    def _admin(self, *statements: str) -> None:
        import psycopg2

        connection = psycopg2.connect(dbname="postgres", user="postgres", host=self.host, port=self.port)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            connection.close()

    def create(self, migrated: bool = True) -> str:
        """A new database (a copy of the migrated template, or empty); its URL."""
        name = "hub_" + uuid.uuid4().hex[:12]
        template = f' TEMPLATE "{TEMPLATE}"' if migrated else ""
        self._admin(f'CREATE DATABASE "{name}"{template}')
        return self.url(name)

    def drop(self, url: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _migrate_template(cluster: PostgresCluster) -> None:
    from peewee import PostgresqlDatabase

    from appliance.federation.hub.db import upgrade

    cluster._admin(f'CREATE DATABASE "{TEMPLATE}"')
    db = PostgresqlDatabase(TEMPLATE, user="postgres", host=cluster.host, port=cluster.port)
    with db.connection_context():
        upgrade(db)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster for the whole session, started on first use."""
    from tests.conftest import free_port

    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    pg_bin = _pg_bin()
    postgres_user = pwd.getpwnam("postgres")
    base = Path(tempfile.mkdtemp(prefix="epn-hub-pg-"))
    os.chown(base, postgres_user.pw_uid, postgres_user.pw_gid)
    port = free_port()
    data = base / "data"
    _as_postgres(str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--no-sync")
    # Tests need no durability: fsync and synchronous commits off (the benchmark keeps them on).
    _as_postgres(str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                 f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                 "-c full_page_writes=off -c max_connections=200", "start")
    try:
        cluster = PostgresCluster("127.0.0.1", port)
        _migrate_template(cluster)
        cluster.start()
        yield cluster
        cluster.stop()
    finally:
        close_hub_pool()
        _as_postgres(str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def close_hub_pool() -> None:
    """Close the hub's PostgreSQL connections, if it has any (before a database is dropped)."""
    close_all = getattr(database.obj, "close_all", None)
    if close_all is not None:
        if not database.is_closed():
            database.close()
        close_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.system)])
def hub_database(request) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The engine the hub under test runs on: a `database_url` line for its config.yaml
    ("" for SQLite, the default)."""
    if request.param == "sqlite":
        yield ""
        return
    cluster = request.getfixturevalue("postgres_cluster")
    url = cluster.take()
    yield f"  database_url: {url}\n"
    close_hub_pool()
    cluster.release(url)


@pytest.fixture
def hub_dir(tmp_path: Path, hub_database: str) -> Path:
    return write_hub_config(tmp_path / "hub", hub_database)


def make_hub_app(settings: dict[str, Any], clock: datetime = NOW):  # type: ignore[no-untyped-def]
    app = create_hub_app(settings)
    app.extensions["hub_clock"] = lambda: clock
    return app


@pytest.fixture
def hub_app(hub_dir: Path):  # type: ignore[no-untyped-def]
    return make_hub_app({"DATA_DIR": hub_dir, "TESTING": True})


@pytest.fixture
def hub_client(hub_app):  # type: ignore[no-untyped-def]
    return hub_app.test_client()


def enrolment_request(token: str, key: Ed25519PrivateKey) -> dict[str, str]:
    public = keys.b64(keys.public_bytes(key))
    return {"token": token, "public_key": public,
            "proof": keys.sign(key, keys.ENROL_CONTEXT, f"{token}\n{public}".encode())}


def new_epn(name: str = "EPN Saint-Gilles", commune: str = "21013", postal_code: str = "1060",
            now: datetime = NOW) -> tuple[str, str]:
    """Add an EPN on the hub; return its id and enrolment token."""
    with database.connection_context():
        epn, token = add_epn(name, commune, postal_code, "non-profit", now, 72)
    return epn.id, token


@dataclass
class Appliance:
    """An enrolled appliance, as far as the hub can tell: an EPN id and a key."""

    client: Any
    epn: str
    key: Ed25519PrivateKey
    key_id: str
    sequence: int = 0
    sent: list[bytes] = field(default_factory=list)

    def envelope(self, period: str, figures: dict[str, Any], sequence: int | None = None,
                 **overrides: Any) -> dict[str, Any]:
        """A report as a dict; each call takes the next sequence unless given one.

        An override of None drops the field."""
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        report = {"protocol": "epn-report/1", "schema": 1, "hub": HUB_NAME, "epn": self.epn,
                  "key_id": self.key_id, "period": period, "sequence": sequence,
                  "report_id": str(uuid.uuid4()), "created_at": CREATED, "figures": figures}
        report.update(overrides)
        return {k: v for k, v in report.items() if v is not None}

    def body(self, period: str, figures: dict[str, Any], sequence: int | None = None,
             **overrides: Any) -> bytes:
        """Canonical report bytes."""
        return canonical_bytes(self.envelope(period, figures, sequence, **overrides))

    def headers(self, raw: bytes, key: Ed25519PrivateKey | None = None,
                key_id: str | None = None) -> dict[str, str]:
        return {"Content-Type": "application/json", "EPN-Key-Id": key_id or self.key_id,
                "EPN-Signature": keys.sign(key or self.key, keys.REPORT_CONTEXT, raw)}

    def push(self, raw: bytes, **headers: Any):  # type: ignore[no-untyped-def]
        return self.client.post("/api/v1/reports", data=raw, headers=self.headers(raw, **headers))

    def report(self, period: str, figures: dict[str, Any], **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.push(self.body(period, figures, **kwargs))


def enrol_appliance(client, name: str = "EPN Saint-Gilles", commune: str = "21013",  # type: ignore[no-untyped-def]
                    postal_code: str = "1060", now: datetime = NOW) -> Appliance:
    epn_id, token = new_epn(name, commune, postal_code, now)
    key = Ed25519PrivateKey.generate()
    response = client.post("/api/v1/enrol", json=enrolment_request(token, key))
    assert response.status_code == 200, response.get_json()
    return Appliance(client, epn_id, key, response.get_json()["key_id"])


@pytest.fixture
def appliance(hub_client) -> Appliance:  # type: ignore[no-untyped-def]
    return enrol_appliance(hub_client)


def stored() -> tuple[int, int, list[int]]:
    """What the hub holds: reports, ingest log entries, each EPN's last sequence."""
    with database.connection_context():
        return (Report.select().count(), IngestLog.select().count(),
                [epn.last_sequence for epn in EPN.select().order_by(EPN.id)])


WEEK = {"visits.total": 70, **{f"visits.weekday.{d}": n for d, n in
                               zip(("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                                   (10, 12, 14, 16, 18, 0, 0), strict=True)}}
