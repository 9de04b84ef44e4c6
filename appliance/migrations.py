"""Versioned schema migrations of the appliance database.

Each migration is a list of SQL statements, applied once, in order, inside one
transaction; the table `schema_migration` records which ones ran. A migration is
never edited after release: a change to the models gets a new one at the end.
"""

from __future__ import annotations

from datetime import datetime, timezone

from peewee import SqliteDatabase


class SchemaTooNew(Exception):
    """The data directory was written by a newer release than this one."""


MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "staff accounts, API tokens, visits, opening hours, mediator shifts, closures",
        [
            'CREATE TABLE "staff_user" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"username" VARCHAR(40) NOT NULL, "display_name" VARCHAR(80) NOT NULL, '
            '"password_hash" VARCHAR(255) NOT NULL, "role" VARCHAR(16) NOT NULL, '
            '"active" INTEGER NOT NULL, "session_epoch" INTEGER NOT NULL, '
            '"failed_logins" INTEGER NOT NULL, "locked_until" DATETIME, '
            '"created_at" DATETIME NOT NULL)',
            'CREATE UNIQUE INDEX "staff_user_username" ON "staff_user" ("username")',
            'CREATE TABLE "api_token" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"name" VARCHAR(60) NOT NULL, "prefix" VARCHAR(12) NOT NULL, '
            '"token_hash" VARCHAR(64) NOT NULL, "created_at" DATETIME NOT NULL, '
            '"last_used_at" DATETIME, "revoked" INTEGER NOT NULL)',
            'CREATE UNIQUE INDEX "api_token_prefix" ON "api_token" ("prefix")',
            'CREATE TABLE "visit" ("id" INTEGER NOT NULL PRIMARY KEY, "day" DATE NOT NULL, '
            '"hour" INTEGER, "purpose" VARCHAR(32) NOT NULL, "source" VARCHAR(16) NOT NULL, '
            '"created_at" DATETIME NOT NULL)',
            'CREATE INDEX "visit_day" ON "visit" ("day")',
            'CREATE TABLE "opening_hours" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"weekday" INTEGER NOT NULL, "opens" TIME NOT NULL, "closes" TIME NOT NULL)',
            'CREATE TABLE "mediator_shift" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"weekday" INTEGER NOT NULL, "starts" TIME NOT NULL, "ends" TIME NOT NULL, '
            '"mediator_id" INTEGER NOT NULL, FOREIGN KEY ("mediator_id") '
            'REFERENCES "staff_user" ("id") ON DELETE CASCADE)',
            'CREATE INDEX "mediator_shift_mediator_id" ON "mediator_shift" ("mediator_id")',
            'CREATE TABLE "closure" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"first_day" DATE NOT NULL, "last_day" DATE NOT NULL, '
            '"reason" VARCHAR(100) NOT NULL)',
        ],
    ),
    (
        2,
        "services used per visit; members and the erasure log",
        [
            *(
                f'ALTER TABLE "visit" ADD COLUMN "used_{service}" INTEGER NOT NULL DEFAULT 0'
                for service in ("computer", "mediator", "printing", "wifi", "training")
            ),
            'CREATE TABLE "member" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"number" VARCHAR(12) NOT NULL, "display_name" VARCHAR(80) NOT NULL, '
            '"contact" VARCHAR(120) NOT NULL, "language" VARCHAR(2) NOT NULL, '
            '"category" VARCHAR(16) NOT NULL, "terms_accepted_on" DATE, '
            '"id_seen" INTEGER NOT NULL, "id_seen_by_id" INTEGER, "created_on" DATE NOT NULL, '
            '"last_active_on" DATE NOT NULL, FOREIGN KEY ("id_seen_by_id") '
            'REFERENCES "staff_user" ("id") ON DELETE SET NULL)',
            'CREATE UNIQUE INDEX "member_number" ON "member" ("number")',
            'CREATE INDEX "member_id_seen_by_id" ON "member" ("id_seen_by_id")',
            'CREATE TABLE "erasure" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"member_digest" VARCHAR(64) NOT NULL, "erased_at" DATETIME NOT NULL, '
            '"reason" VARCHAR(16) NOT NULL)',
            'CREATE INDEX "erasure_member_digest" ON "erasure" ("member_digest")',
        ],
    ),
    (
        3,
        "anonymous survey; federation link and report outbox",
        [
            'CREATE TABLE "survey_response" ("id" INTEGER NOT NULL PRIMARY KEY, "day" DATE NOT NULL, '
            '"answers" TEXT NOT NULL)',
            'CREATE INDEX "survey_response_day" ON "survey_response" ("day")',
            'CREATE TABLE "survey_window" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"first_day" DATE NOT NULL, "last_day" DATE)',
            'CREATE TABLE "federation_link" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"hub_url" VARCHAR(255) NOT NULL, "hub_id" VARCHAR(64) NOT NULL, '
            '"epn_id" VARCHAR(64) NOT NULL, "key_id" VARCHAR(16) NOT NULL, '
            '"enrolled_at" DATETIME NOT NULL, "next_sequence" INTEGER NOT NULL, "revoked_at" DATETIME)',
            'CREATE TABLE "outbox_report" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"report_id" VARCHAR(64) NOT NULL, "period" VARCHAR(10) NOT NULL, '
            '"sequence" INTEGER NOT NULL, "body" BLOB NOT NULL, "signature" VARCHAR(100) NOT NULL, '
            '"figures_digest" VARCHAR(64) NOT NULL, "created_at" DATETIME NOT NULL, '
            '"status" VARCHAR(12) NOT NULL, "attempts" INTEGER NOT NULL, '
            '"next_attempt_at" DATETIME NOT NULL, "sent_at" DATETIME, "http_status" INTEGER, '
            '"answer" TEXT NOT NULL)',
            'CREATE UNIQUE INDEX "outbox_report_report_id" ON "outbox_report" ("report_id")',
            'CREATE INDEX "outbox_report_period" ON "outbox_report" ("period")',
            'CREATE UNIQUE INDEX "outbox_report_sequence" ON "outbox_report" ("sequence")',
            'CREATE INDEX "outbox_report_status" ON "outbox_report" ("status")',
        ],
    ),
    (
        4,
        "federation link: the day of the last periodic report build, the first sequence of the enrolment",
        [
            'ALTER TABLE "federation_link" ADD COLUMN "built_on" DATE',
            'ALTER TABLE "federation_link" ADD COLUMN "first_sequence" INTEGER NOT NULL DEFAULT 1',
        ],
    ),
    # booking: migration 5 here
    # help queue: migration 6 here
    # printing: migration 7 here
    # wifi: migration 8 here
]

LATEST = max(number for number, _, _ in MIGRATIONS)


def current_version(database: SqliteDatabase) -> int:
    """The highest migration applied to this database (0 for a new one)."""
    if not database.table_exists("schema_migration"):
        return 0
    row = database.execute_sql('SELECT MAX("version") FROM "schema_migration"').fetchone()
    return row[0] or 0


def upgrade(database: SqliteDatabase, target: int | None = None) -> list[int]:
    """Apply every pending migration up to `target`; return the versions applied.

    Each migration re-reads the version inside its write lock, so two processes
    starting at once (web workers, the task worker) never apply one twice.
    """
    applied = []
    target = LATEST if target is None else target
    for number, name, statements in MIGRATIONS:
        if number > target:
            break
        with database.atomic("IMMEDIATE"):
            database.execute_sql(
                'CREATE TABLE IF NOT EXISTS "schema_migration" ("version" INTEGER NOT NULL '
                'PRIMARY KEY, "name" TEXT NOT NULL, "applied_at" DATETIME NOT NULL)'
            )
            version = current_version(database)
            if version > LATEST:
                raise SchemaTooNew(
                    f"the data directory has schema version {version}, "
                    f"this release knows up to {LATEST}: install a newer release"
                )
            if number <= version:
                continue
            for statement in statements:
                database.execute_sql(statement)
            database.execute_sql(
                'INSERT INTO "schema_migration" ("version", "name", "applied_at") VALUES (?, ?, ?)',
                (number, name, datetime.now(timezone.utc).replace(tzinfo=None)),
            )
        applied.append(number)
    return applied
