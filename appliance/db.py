"""The appliance's SQLite database: one deferred peewee database, opened per request or task."""

from __future__ import annotations

from pathlib import Path

from peewee import Model, SqliteDatabase

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # Concurrent writers (web workers, the task worker) wait instead of failing at once.
    "busy_timeout": 5000,
    # Erased personal data must not linger in free pages.
    "secure_delete": 1,
    "synchronous": "normal",
    "cache_size": -4000,
}

database = SqliteDatabase(None, pragmas=PRAGMAS)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


def init_database(path: Path | str, migrate: bool = True) -> SqliteDatabase:
    """Point the shared database at `path` and bring its schema up to date."""
    if not database.is_closed():
        database.close()
    database.init(str(path), pragmas=PRAGMAS)
    if migrate:
        from appliance.migrations import upgrade

        with database.connection_context():
            upgrade(database)
    return database
