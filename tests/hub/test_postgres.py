"""The hub on a real PostgreSQL server (the session's throwaway cluster, see conftest.py):
migrations from an empty database, run once even by processes starting together, and
what only PostgreSQL can get wrong (bytes, NUL characters). Every other hub test runs on
PostgreSQL too, through the parametrised `hub_dir` fixture. Skips with a reason where no
cluster can be started; under CI=true a skip fails the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from peewee import PostgresqlDatabase

from appliance.federation.hub import models
from appliance.federation.hub.db import (
    HUB_LATEST,
    HUB_MIGRATIONS,
    current_version,
    database,
    upgrade,
)
from tests.hub.conftest import close_hub_pool, make_hub_app, write_hub_config

pytestmark = pytest.mark.system


@pytest.fixture
def empty_url(postgres_cluster) -> str:  # type: ignore[no-untyped-def]
    """A new, empty database in the session's cluster."""
    url = postgres_cluster.create(migrated=False)
    yield url
    close_hub_pool()
    postgres_cluster.drop(url)


def _database(url: str) -> PostgresqlDatabase:
    host_port, name = url.split("@", 1)[1].rsplit("/", 1)
    host, port = host_port.split(":")
    return PostgresqlDatabase(name, user="postgres", host=host, port=int(port))


def test_an_empty_postgresql_database_is_migrated_once_to_the_models(tmp_path: Path, empty_url: str):
    data = write_hub_config(tmp_path / "hub", f"  database_url: {empty_url}\n")
    app = make_hub_app({"DATA_DIR": data, "TESTING": True})
    with database.connection_context():
        assert type(database.obj).__name__ == "PooledPostgresqlDatabase"
        assert current_version(database.obj) == HUB_LATEST
        assert upgrade(database.obj) == []
        for model in models.MODELS:
            columns = {c.name for c in database.get_columns(model._meta.table_name)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, model._meta.table_name
    assert not (Path(app.extensions["epn_config"].data_dir) / "hub.sqlite3").exists()


def test_migrations_step_by_step_on_postgresql(empty_url: str):
    db = _database(empty_url)
    with db.connection_context():
        for number, _, _ in HUB_MIGRATIONS:
            assert upgrade(db, number) == [number]
            assert current_version(db) == number
        assert upgrade(db) == []


def test_processes_migrating_at_once_apply_each_migration_once(empty_url: str):
    """Four processes start on one empty database: the advisory lock serialises them."""
    db = _database(empty_url)
    script = ("import sys; from peewee import PostgresqlDatabase; "
              "from appliance.federation.hub.db import upgrade; "
              "db = PostgresqlDatabase(sys.argv[1], user='postgres', host='127.0.0.1', port=int(sys.argv[2])); "
              "db.connect(); print(len(upgrade(db)))")
    command = [sys.executable, "-c", script, db.database, str(db.connect_params["port"])]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
                 for _ in range(4)]
    counts = sorted(int(process.communicate(timeout=60)[0].strip()) for process in processes)
    # The lock is taken per migration, so the processes may share the work: together
    # they apply each migration exactly once.
    assert sum(counts) == HUB_LATEST
    with db.connection_context():
        versions = [v for (v,) in db.execute_sql('SELECT "version" FROM "hub_schema_migration"').fetchall()]
    assert sorted(versions) == list(range(1, HUB_LATEST + 1))


def test_public_keys_round_trip_as_bytes(hub_client, hub_database):  # type: ignore[no-untyped-def]
    from appliance.federation.hub.epns import find_key, list_epns
    from tests.hub.conftest import enrol_appliance

    appliance = enrol_appliance(hub_client)
    with database.connection_context():
        assert find_key(appliance.key_id).epn_id == appliance.epn
        assert isinstance(find_key(appliance.key_id).public.public_bytes_raw(), bytes)
        assert list_epns()[0].fingerprint


def test_odd_identifiers_never_reach_the_database_as_errors(hub_client):  # type: ignore[no-untyped-def]
    from appliance.federation.hub.access import check_api_token
    from appliance.federation.hub.epns import find_key
    from tests.hub.conftest import NOW

    with database.connection_context():
        assert find_key("0123456789abcde\x00") is None
        assert check_api_token("hub_0000\x00_ab", NOW) is None
    response = hub_client.post("/api/v1/keys/rotate", data=b'{"created_at":"x","epn":"e","new_public_key":"k",'
                               b'"old_key_id":"\\u0000"}', headers={"EPN-Signature-Old": "a", "EPN-Signature-New": "b"})
    assert response.status_code == 401
    response = hub_client.post("/api/v1/enrol", json={"token": "\x00", "public_key": "\x00", "proof": "\x00"})
    assert response.status_code == 400


def test_hub_serve_on_postgresql_stores_a_report_sent_at_once_by_eight_clients_once(  # type: ignore[no-untyped-def]
        tmp_path: Path, postgres_cluster):
    """A real `epn hub serve` (gunicorn, two workers, a pool each) on PostgreSQL."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime, timedelta

    import requests
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from appliance.federation.hub.accounts import HubAccount
    from appliance.federation.hub.models import IngestLog, Report
    from tests.hub.conftest import WEEK, Appliance, enrolment_request
    from tests.hub.test_cli import _add, _Response, _serve

    url_db = postgres_cluster.take()
    data = write_hub_config(tmp_path / "hub", f"  database_url: {url_db}\n")
    make_hub_app({"DATA_DIR": data, "TESTING": True})
    with database.connection_context():  # disabled long ago: `hub serve` deletes it as it starts
        HubAccount.create(login="gone", display_name="Gone", password_hash="x", active=False,
                          disabled_at=datetime(2020, 1, 1))
    close_hub_pool()
    log_path = tmp_path / "hub.log"
    process, url = _serve(data, log_path)
    try:
        epn_id, token = _add(data)
        key = Ed25519PrivateKey.generate()
        answer = requests.post(url + "/api/v1/enrol", json=enrolment_request(token, key), timeout=5).json()

        class _Http:
            def post(self, path, data, headers):  # type: ignore[no-untyped-def]
                return _Response(requests.post(url + path, data=data, headers=headers, timeout=10))

        appliance = Appliance(_Http(), epn_id, key, answer["key_id"])
        created = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        raw = appliance.body("2025-W10", WEEK, created_at=created)
        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(lambda _: appliance.push(raw).status_code, range(8)))
        assert codes == [200] * 7 + [201]
        # Eight different periods at once: each stored, last_sequence the highest.
        bodies = [appliance.body(f"2025-W{week:02d}", WEEK, created_at=created) for week in range(11, 19)]
        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(lambda body: appliance.push(body).status_code, bodies))
        assert codes == [201] * 8
    finally:
        process.terminate()
        process.wait(timeout=15)
    make_hub_app({"DATA_DIR": data, "TESTING": True})
    with database.connection_context():
        assert Report.select().count() == 9 and IngestLog.select().count() == 9
        assert HubAccount.select().count() == 0
    close_hub_pool()
    postgres_cluster.release(url_db)
    assert "POST /api/v1/reports 201" in log_path.read_text()


def test_without_root_the_postgresql_variants_say_why_they_skip(monkeypatch):  # type: ignore[no-untyped-def]
    import os

    from tests.hub.conftest import postgres_unavailable

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    reason = postgres_unavailable()
    assert "root" in reason and "SQLite only" in reason and "\n" not in reason
