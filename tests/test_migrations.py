"""Schema migrations: a newer release opens an older data directory and upgrades it."""

import sqlite3
import subprocess
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from appliance.db import database, init_database
from appliance.migrations import LATEST, SchemaTooNew, current_version, upgrade
from appliance.models import ALL_MODELS, Member, StaffUser, Visit
from tests.conftest import EPN

FIXTURE = Path(__file__).parent / "fixtures" / "datadir-schema-v1.sql"


@pytest.fixture
def old_data_dir(tmp_path: Path) -> Path:
    """A data directory whose database was written by release 0.1 (schema 1)."""
    directory = tmp_path / "old"
    directory.mkdir()
    connection = sqlite3.connect(directory / "epn.sqlite3")
    connection.executescript(FIXTURE.read_text())
    connection.close()
    (directory / "config.yaml").write_text("site:\n  name: Old EPN\n")
    return directory


def _columns(db: SqliteDatabase) -> dict[str, set[tuple[str, str, bool]]]:
    tables = [t for t in db.get_tables() if t != "schema_migration"]
    return {
        table: {(c.name, c.data_type.upper(), c.null) for c in db.get_columns(table)}
        for table in tables
    }


def _indexes(db: SqliteDatabase) -> dict[str, set[tuple[str, bool]]]:
    return {
        table: {(i.name, i.unique) for i in db.get_indexes(table)}
        for table in db.get_tables()
        if table != "schema_migration"
    }


def test_an_old_data_directory_is_upgraded_in_place_and_keeps_its_data(old_data_dir):
    with sqlite3.connect(old_data_dir / "epn.sqlite3") as raw:
        assert raw.execute("SELECT MAX(version) FROM schema_migration").fetchone()[0] == 1
    init_database(old_data_dir / "epn.sqlite3")
    with database.connection_context():
        assert current_version(database) == LATEST
        assert StaffUser.get(StaffUser.username == "nadia").role == "coordinator"
        assert Visit.select().count() == 4
        assert Visit.select().where(Visit.source == "import", Visit.hour.is_null()).count() == 1
        # Columns added by migration 2 take their default on old rows.
        assert Visit.select().where(Visit.used_computer == True).count() == 0  # noqa: E712
        assert Member.select().count() == 0


def test_the_cli_upgrades_an_old_data_directory_and_the_old_password_still_works(old_data_dir):
    result = subprocess.run(
        [EPN, "token", "add", "--data", str(old_data_dir), "--name", "after-upgrade"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    from appliance.accounts import authenticate
    from datetime import timedelta

    init_database(old_data_dir / "epn.sqlite3")
    with database.connection_context():
        assert authenticate("nadia", "release-one-password", 5, timedelta(minutes=1)) is not None
        # The older scrypt hash was replaced by Argon2id at that sign-in, and still works.
        assert StaffUser.get(StaffUser.username == "nadia").password_hash.startswith("$argon2id$")
        assert authenticate("nadia", "release-one-password", 5, timedelta(minutes=1)) is not None


def test_migrations_build_exactly_the_schema_the_models_describe(tmp_path):
    migrated = SqliteDatabase(str(tmp_path / "migrated.sqlite3"))
    migrated.connect()
    upgrade(migrated)
    modelled = SqliteDatabase(str(tmp_path / "modelled.sqlite3"))
    modelled.connect()
    with modelled.bind_ctx(ALL_MODELS):
        modelled.create_tables(ALL_MODELS)
    assert _columns(migrated) == _columns(modelled)
    assert _indexes(migrated) == _indexes(modelled)


def test_upgrading_twice_applies_nothing_the_second_time(tmp_path):
    db = SqliteDatabase(str(tmp_path / "x.sqlite3"))
    db.connect()
    assert upgrade(db) == list(range(1, LATEST + 1))
    assert upgrade(db) == []


def test_a_data_directory_from_a_newer_release_is_refused_without_change(tmp_path):
    db = SqliteDatabase(str(tmp_path / "future.sqlite3"))
    db.connect()
    upgrade(db)
    db.execute_sql("INSERT INTO schema_migration VALUES (?, 'from the future', '2030-01-01')", (LATEST + 1,))
    with pytest.raises(SchemaTooNew, match="install a newer release"):
        upgrade(db)
    assert current_version(db) == LATEST + 1


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    from appliance import migrations

    db = SqliteDatabase(str(tmp_path / "y.sqlite3"))
    db.connect()
    upgrade(db, target=1)
    broken = (LATEST + 1, "broken", ['CREATE TABLE "half" ("id" INTEGER)', "THIS IS NOT SQL"])
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS + [broken])
    monkeypatch.setattr(migrations, "LATEST", LATEST + 1)
    with pytest.raises(Exception):
        migrations.upgrade(db)
    assert current_version(db) == LATEST
    assert "half" not in db.get_tables()
