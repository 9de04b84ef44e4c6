"""The hub's own database: SQLite in the data directory by default, PostgreSQL when
`hub.database_url` says so, behind one deferred proxy the models are bound to.

Migrations are numbered lists of SQL statements written once for both engines: the few
column types that differ are spelt `{serial}` and `{blob}` and filled in per engine. A
migration is never edited after release; a change to the models gets a new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from peewee import Database, DatabaseProxy, Model, PostgresqlDatabase, SqliteDatabase

from appliance.config import Config

HUB_DATABASE_FILE = "hub.sqlite3"
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # Several gunicorn workers write: they wait for each other instead of failing.
    "busy_timeout": 5000,
    "synchronous": "normal",
    "cache_size": -4000,
}
TYPES = {
    "sqlite": {"serial": "INTEGER NOT NULL PRIMARY KEY", "blob": "BLOB"},
    "postgresql": {"serial": "BIGSERIAL NOT NULL PRIMARY KEY", "blob": "BYTEA"},
}
# Any constant will do: it only has to be the same in every process migrating this hub.
MIGRATION_LOCK = 7_201_931

database = DatabaseProxy()


class HubModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class HubSchemaTooNew(Exception):
    """The hub database was written by a newer release than this one."""


HUB_MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "EPNs, enrolment tokens, keys, API tokens, current reports and the ingest log",
        [
            'CREATE TABLE "hub_epn" ("id" VARCHAR(32) NOT NULL PRIMARY KEY, '
            '"name" VARCHAR(100) NOT NULL, "commune" VARCHAR(5) NOT NULL, '
            '"postal_code" VARCHAR(4) NOT NULL, "organiser" VARCHAR(16) NOT NULL, '
            '"active" BOOLEAN NOT NULL, "created_at" TIMESTAMP NOT NULL, '
            '"enrolled_at" TIMESTAMP, "last_sequence" BIGINT NOT NULL DEFAULT 0)',
            'CREATE TABLE "hub_enrolment_token" ("id" {serial}, '
            '"epn_id" VARCHAR(32) NOT NULL REFERENCES "hub_epn" ("id") ON DELETE CASCADE, '
            '"token_hash" VARCHAR(64) NOT NULL, "created_at" TIMESTAMP NOT NULL, '
            '"expires_at" TIMESTAMP NOT NULL, "used_at" TIMESTAMP)',
            'CREATE UNIQUE INDEX "hub_enrolment_token_token_hash" ON "hub_enrolment_token" ("token_hash")',
            'CREATE INDEX "hub_enrolment_token_epn_id" ON "hub_enrolment_token" ("epn_id")',
            'CREATE TABLE "hub_key" ("id" {serial}, '
            '"epn_id" VARCHAR(32) NOT NULL REFERENCES "hub_epn" ("id") ON DELETE CASCADE, '
            '"key_id" VARCHAR(16) NOT NULL, "public_key" {blob} NOT NULL, '
            '"created_at" TIMESTAMP NOT NULL, "revoked_at" TIMESTAMP, "replaced_by" VARCHAR(16))',
            'CREATE UNIQUE INDEX "hub_key_key_id" ON "hub_key" ("key_id")',
            'CREATE INDEX "hub_key_epn_id" ON "hub_key" ("epn_id")',
            'CREATE TABLE "hub_api_token" ("id" {serial}, "name" VARCHAR(60) NOT NULL, '
            '"prefix" VARCHAR(12) NOT NULL, "token_hash" VARCHAR(64) NOT NULL, '
            '"created_at" TIMESTAMP NOT NULL, "last_used_at" TIMESTAMP, "revoked" BOOLEAN NOT NULL)',
            'CREATE UNIQUE INDEX "hub_api_token_prefix" ON "hub_api_token" ("prefix")',
            'CREATE TABLE "hub_report" ("id" {serial}, '
            '"epn_id" VARCHAR(32) NOT NULL REFERENCES "hub_epn" ("id") ON DELETE CASCADE, '
            '"period" VARCHAR(10) NOT NULL, "period_kind" VARCHAR(5) NOT NULL, '
            '"period_start" DATE NOT NULL, "period_end" DATE NOT NULL, '
            '"schema_version" INTEGER NOT NULL, "sequence" BIGINT NOT NULL, '
            '"report_id" VARCHAR(64) NOT NULL, "key_id" VARCHAR(16) NOT NULL, '
            '"digest" VARCHAR(64) NOT NULL, "figures" TEXT NOT NULL, '
            '"created_at" TIMESTAMP NOT NULL, "received_at" TIMESTAMP NOT NULL, '
            '"first_received_at" TIMESTAMP NOT NULL)',
            'CREATE UNIQUE INDEX "hub_report_epn_id_period" ON "hub_report" ("epn_id", "period")',
            'CREATE INDEX "hub_report_period" ON "hub_report" ("period")',
            'CREATE TABLE "hub_ingest_log" ("id" {serial}, '
            '"epn_id" VARCHAR(32) NOT NULL REFERENCES "hub_epn" ("id") ON DELETE CASCADE, '
            '"sequence" BIGINT NOT NULL, "report_id" VARCHAR(64) NOT NULL, '
            '"period" VARCHAR(10) NOT NULL, "digest" VARCHAR(64) NOT NULL, '
            '"received_at" TIMESTAMP NOT NULL)',
            'CREATE UNIQUE INDEX "hub_ingest_log_epn_id_sequence" ON "hub_ingest_log" ("epn_id", "sequence")',
            'CREATE UNIQUE INDEX "hub_ingest_log_epn_id_report_id" ON "hub_ingest_log" ("epn_id", "report_id")',
        ],
    ),
    (
        2,
        "the coordination's accounts and the audit log of administrative actions",
        [
            'CREATE TABLE "hub_account" ("id" {serial}, "login" VARCHAR(40) NOT NULL, '
            '"display_name" VARCHAR(80) NOT NULL, "password_hash" VARCHAR(255) NOT NULL, '
            '"role" VARCHAR(16) NOT NULL, "active" BOOLEAN NOT NULL, "session_epoch" INTEGER NOT NULL, '
            '"failed_logins" INTEGER NOT NULL, "locked_until" TIMESTAMP, "created_at" TIMESTAMP NOT NULL, '
            '"last_login_at" TIMESTAMP, "disabled_at" TIMESTAMP)',
            'CREATE UNIQUE INDEX "hub_account_login" ON "hub_account" ("login")',
            'CREATE TABLE "hub_audit_entry" ("id" {serial}, "at" TIMESTAMP NOT NULL, '
            '"account_id" INTEGER REFERENCES "hub_account" ("id") ON DELETE SET NULL, '
            '"action" VARCHAR(40) NOT NULL, "target" VARCHAR(64) NOT NULL, "detail" VARCHAR(200) NOT NULL)',
            'CREATE INDEX "hub_audit_entry_at" ON "hub_audit_entry" ("at")',
            'CREATE INDEX "hub_audit_entry_account_id" ON "hub_audit_entry" ("account_id")',
        ],
    ),
    (
        3,
        "the periods published on the public page",
        [
            'CREATE TABLE "hub_publication" ("id" {serial}, "period" VARCHAR(10) NOT NULL, '
            '"published_at" TIMESTAMP NOT NULL, '
            '"account_id" INTEGER REFERENCES "hub_account" ("id") ON DELETE SET NULL)',
            'CREATE UNIQUE INDEX "hub_publication_period" ON "hub_publication" ("period")',
            'CREATE INDEX "hub_publication_account_id" ON "hub_publication" ("account_id")',
        ],
    ),
]

HUB_LATEST = max(number for number, _, _ in HUB_MIGRATIONS)


def engine(db: Database) -> str:
    """`postgresql` or `sqlite`: the dialect the migrations are written for."""
    return "postgresql" if isinstance(db, PostgresqlDatabase) else "sqlite"


def make_database(config: Config) -> Database:
    """The database `hub.database_url` names, or hub.sqlite3 in the data directory."""
    url = config.hub.database_url
    if url.startswith(("postgresql://", "postgres://")):
        from playhouse.pool import PooledPostgresqlDatabase  # only a PostgreSQL hub needs it

        parts = urlsplit(url)
        # One small pool per gunicorn worker: a new PostgreSQL connection per request would
        # cost more than the request itself.
        return PooledPostgresqlDatabase(
            unquote(parts.path.lstrip("/")) or "epn_hub",
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            host=parts.hostname or None,
            port=parts.port or None,
            max_connections=8,
            stale_timeout=300,
        )
    path = Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else config.data_dir / HUB_DATABASE_FILE
    return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS)


def init_hub_database(config: Config, migrate: bool = True) -> Database:
    """Point the hub's models at its database and bring the schema up to date.

    Connections are closed afterwards (and a pool emptied), so that gunicorn workers
    forked from this process never share one.
    """
    if database.obj is not None and not database.is_closed():
        database.close()
    _close_pool()
    database.initialize(make_database(config))
    if migrate:
        with database.connection_context():
            upgrade(database.obj)
        _close_pool()
    return database.obj


def _close_pool() -> None:
    close_all = getattr(database.obj, "close_all", None)  # a PostgreSQL pool
    if close_all is not None:
        close_all()


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that holds the write lock from its first statement.

    SQLite: BEGIN IMMEDIATE, so two workers never both read "no report yet" and then
    collide. PostgreSQL: a plain transaction; callers lock the rows they decide on
    (`SELECT ... FOR UPDATE`), see `lock_for_update`.
    """
    if engine(database.obj) == "sqlite":
        with database.atomic("IMMEDIATE"):
            yield
    else:
        with database.atomic():
            yield


def execute(statement: str, params: tuple[Any, ...]):  # type: ignore[no-untyped-def]
    """Run SQL written with ? placeholders, in the engine's own parameter style.

    For the ingest hot path only: peewee builds a query in ~0.35 ms, which for the seven
    queries of an ingest was most of its cost; this costs ~0.02 ms.
    """
    if database.obj.param != "?":
        statement = statement.replace("?", database.obj.param)
    return database.execute_sql(statement, params)


def lock_for_update(query):  # type: ignore[no-untyped-def]
    """`query` with FOR UPDATE where the engine has it (SQLite locks the whole file)."""
    return query.for_update() if engine(database.obj) == "postgresql" else query


def _sql(statement: str, dialect: str) -> str:
    return statement.replace("{serial}", TYPES[dialect]["serial"]).replace("{blob}", TYPES[dialect]["blob"])


def current_version(db: Database) -> int:
    """The highest hub migration applied (0 for a new database)."""
    if not db.table_exists("hub_schema_migration"):
        return 0
    row = db.execute_sql('SELECT MAX("version") FROM "hub_schema_migration"').fetchone()
    return row[0] or 0


def upgrade(db: Database, target: int | None = None) -> list[int]:
    """Apply every pending migration up to `target`, each in its own transaction.

    The version is re-read under a lock (SQLite's write lock, a PostgreSQL advisory
    lock), so two processes starting at once never apply one twice.
    """
    dialect = engine(db)
    target = HUB_LATEST if target is None else target
    applied = []
    for number, name, statements in HUB_MIGRATIONS:
        if number > target:
            break
        with db.atomic("IMMEDIATE") if dialect == "sqlite" else db.atomic():
            if dialect == "postgresql":
                db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            db.execute_sql(
                'CREATE TABLE IF NOT EXISTS "hub_schema_migration" ("version" INTEGER NOT NULL '
                'PRIMARY KEY, "name" TEXT NOT NULL, "applied_at" TIMESTAMP NOT NULL)'
            )
            version = current_version(db)
            if version > HUB_LATEST:
                raise HubSchemaTooNew(
                    f"the hub database has schema version {version}, this release knows up "
                    f"to {HUB_LATEST}: install a newer release"
                )
            if number <= version:
                continue
            for statement in statements:
                db.execute_sql(_sql(statement, dialect))
            db.execute_sql(
                'INSERT INTO "hub_schema_migration" ("version", "name", "applied_at") '
                f"VALUES ({db.param}, {db.param}, {db.param})",
                (number, name, datetime.now(UTC).replace(tzinfo=None)),
            )
        applied.append(number)
    return applied
