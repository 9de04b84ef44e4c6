"""The hub on a real, throwaway PostgreSQL cluster (initdb + pg_ctl on a free port, as
the postgres user): migrations, the shared ingest-and-merge scenario, and the models
matching the migrated schema. Skips with a reason where it cannot run (not root, no
PostgreSQL binaries); under CI=true a skip fails the run."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.federation.hub import models
from appliance.federation.hub.db import HUB_LATEST, current_version, database, upgrade
from tests.conftest import free_port
from tests.hub.conftest import make_hub_app, write_hub_config
from tests.hub.scenario import check_ingest_and_merge

pytestmark = pytest.mark.system


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def _as_postgres(*command: str) -> None:
    result = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True,
                            timeout=60, check=False)
    if result.returncode:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


@pytest.fixture(scope="module")
def postgres() -> Iterator[tuple[str, int]]:
    """A PostgreSQL cluster for this module: (host, port), user postgres, trust auth."""
    if os.geteuid() != 0:
        pytest.skip("the PostgreSQL test runs initdb as the postgres user: run it as root")
    pg_bin = _pg_bin()
    if pg_bin is None or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL binaries not installed (Debian package postgresql; `make test` installs it)")
    try:
        postgres_user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres system user (Debian package postgresql creates it)")
    base = Path(tempfile.mkdtemp(prefix="epn-hub-pg-"))
    os.chown(base, postgres_user.pw_uid, postgres_user.pw_gid)
    port = free_port()
    data = base / "data"
    _as_postgres(str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--no-sync")
    _as_postgres(str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                 f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off",
                 "start")
    try:
        yield "127.0.0.1", port
    finally:
        if database.obj is not None and hasattr(database.obj, "close_all"):
            database.obj.close_all()
        _as_postgres(str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: tuple[str, int]) -> str:
    """A fresh database in the cluster for each test."""
    import psycopg2

    host, port = postgres
    name = "hub_" + uuid.uuid4().hex[:12]
    connection = psycopg2.connect(dbname="postgres", user="postgres", host=host, port=port)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return f"postgresql://postgres@{host}:{port}/{name}"


@pytest.fixture
def pg_app(tmp_path: Path, postgres_url: str):  # type: ignore[no-untyped-def]
    data = write_hub_config(tmp_path / "hub", f"  database_url: {postgres_url}\n")
    app = make_hub_app({"DATA_DIR": data, "TESTING": True})
    yield app
    database.obj.close_all()


def test_the_hub_migrates_a_postgresql_database_once(pg_app):  # type: ignore[no-untyped-def]
    with database.connection_context():
        assert type(database.obj).__name__ == "PooledPostgresqlDatabase"
        assert current_version(database.obj) == HUB_LATEST
        assert upgrade(database.obj) == []
        for model in models.MODELS:
            columns = {c.name for c in database.get_columns(model._meta.table_name)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}
    assert not (Path(pg_app.extensions["epn_config"].data_dir) / "hub.sqlite3").exists()


def test_ingest_and_merge_on_postgresql(pg_app):  # type: ignore[no-untyped-def]
    check_ingest_and_merge(pg_app.test_client())


def test_public_keys_round_trip_as_bytes_on_postgresql(pg_app):  # type: ignore[no-untyped-def]
    from appliance.federation.hub.epns import find_key, list_epns
    from tests.hub.conftest import enrol_appliance

    appliance = enrol_appliance(pg_app.test_client())
    with database.connection_context():
        assert find_key(appliance.key_id).epn_id == appliance.epn
        assert list_epns()[0].fingerprint


def test_odd_identifiers_never_reach_postgresql_as_errors(pg_app):  # type: ignore[no-untyped-def]
    from appliance.federation.hub.access import check_api_token
    from appliance.federation.hub.epns import find_key
    from tests.hub.conftest import NOW

    with database.connection_context():
        assert find_key("0123456789abcde\x00") is None
        assert check_api_token("hub_0000\x00_ab", NOW) is None
    client = pg_app.test_client()
    response = client.post("/api/v1/keys/rotate", data=b'{"created_at":"x","epn":"e","new_public_key":"k",'
                           b'"old_key_id":"\\u0000"}', headers={"EPN-Signature-Old": "a", "EPN-Signature-New": "b"})
    assert response.status_code == 401
    response = client.post("/api/v1/enrol", json={"token": "\x00", "public_key": "\x00", "proof": "\x00"})
    assert response.status_code == 400
