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
    (
        5,
        "booking: seats, workshops, bookings",
        [
            'CREATE TABLE "seat" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(40) NOT NULL, '
            '"eid_reader" INTEGER NOT NULL, "scanner" INTEGER NOT NULL, '
            '"accessibility" INTEGER NOT NULL, "active" INTEGER NOT NULL)',
            'CREATE TABLE "workshop" ("id" INTEGER NOT NULL PRIMARY KEY, "title" VARCHAR(100) NOT NULL, '
            '"description" VARCHAR(300) NOT NULL, "language" VARCHAR(2) NOT NULL, '
            '"level" VARCHAR(16) NOT NULL, "audience" VARCHAR(80) NOT NULL, '
            '"starts" DATETIME NOT NULL, "minutes" INTEGER NOT NULL, "capacity" INTEGER NOT NULL, '
            '"mediator_id" INTEGER, "room" VARCHAR(60) NOT NULL, "series" VARCHAR(16) NOT NULL, '
            '"uid" VARCHAR(40) NOT NULL, "cancelled" INTEGER NOT NULL, "created_at" DATETIME NOT NULL, '
            'FOREIGN KEY ("mediator_id") REFERENCES "staff_user" ("id") ON DELETE SET NULL)',
            'CREATE INDEX "workshop_starts" ON "workshop" ("starts")',
            'CREATE INDEX "workshop_mediator_id" ON "workshop" ("mediator_id")',
            'CREATE INDEX "workshop_series" ON "workshop" ("series")',
            'CREATE UNIQUE INDEX "workshop_uid" ON "workshop" ("uid")',
            'CREATE TABLE "booking" ("id" INTEGER NOT NULL PRIMARY KEY, "code" VARCHAR(16), '
            '"kind" VARCHAR(12) NOT NULL, "status" VARCHAR(12) NOT NULL, "starts" DATETIME NOT NULL, '
            '"ends" DATETIME NOT NULL, "seat_id" INTEGER, "workshop_id" INTEGER, '
            '"help_kind" VARCHAR(16) NOT NULL, "nickname" VARCHAR(40) NOT NULL, '
            '"phone" VARCHAR(30) NOT NULL, "language" VARCHAR(2) NOT NULL, "by_staff" INTEGER NOT NULL, '
            '"created_at" DATETIME NOT NULL, "promoted_at" DATETIME, "checked_in_at" DATETIME, '
            '"cancelled_at" DATETIME, "visit_id" INTEGER, "purged" INTEGER NOT NULL, '
            'FOREIGN KEY ("seat_id") REFERENCES "seat" ("id") ON DELETE SET NULL, '
            'FOREIGN KEY ("workshop_id") REFERENCES "workshop" ("id") ON DELETE CASCADE, '
            'FOREIGN KEY ("visit_id") REFERENCES "visit" ("id") ON DELETE SET NULL)',
            'CREATE UNIQUE INDEX "booking_code" ON "booking" ("code")',
            'CREATE INDEX "booking_status" ON "booking" ("status")',
            'CREATE INDEX "booking_starts" ON "booking" ("starts")',
            'CREATE INDEX "booking_seat_id" ON "booking" ("seat_id")',
            'CREATE INDEX "booking_workshop_id" ON "booking" ("workshop_id")',
            'CREATE INDEX "booking_visit_id" ON "booking" ("visit_id")',
        ],
    ),
    (
        6,
        "the walk-in help queue's tickets",
        [
            'CREATE TABLE "queue_ticket" ("id" INTEGER NOT NULL PRIMARY KEY, "day" DATE NOT NULL, '
            '"number" INTEGER NOT NULL, "kind" VARCHAR(24) NOT NULL, "token" VARCHAR(32) NOT NULL, '
            '"origin" VARCHAR(8) NOT NULL, "state" VARCHAR(10) NOT NULL, "taken_at" DATETIME NOT NULL, '
            '"called_at" DATETIME, "closed_at" DATETIME, "waited_seconds" INTEGER, "counter" INTEGER, '
            '"visit_id" INTEGER, "client_digest" VARCHAR(32) NOT NULL, FOREIGN KEY ("visit_id") '
            'REFERENCES "visit" ("id") ON DELETE SET NULL)',
            'CREATE UNIQUE INDEX "queue_ticket_token" ON "queue_ticket" ("token")',
            'CREATE INDEX "queue_ticket_visit_id" ON "queue_ticket" ("visit_id")',
            'CREATE UNIQUE INDEX "queue_ticket_day_number" ON "queue_ticket" ("day", "number")',
            'CREATE INDEX "queue_ticket_day_state" ON "queue_ticket" ("day", "state")',
        ],
    ),
    (
        7,
        "printing: held jobs, quota grants and the page ledger",
        [
            'CREATE TABLE "print_job" ("id" INTEGER NOT NULL PRIMARY KEY, "cups_job_id" INTEGER NOT NULL, '
            '"printer" VARCHAR(60) NOT NULL, "title" VARCHAR(120) NOT NULL, "host" VARCHAR(120) NOT NULL, '
            '"source" VARCHAR(8) NOT NULL, "code" VARCHAR(8) NOT NULL, "member_id" INTEGER, '
            '"pages" INTEGER NOT NULL, "copies" INTEGER NOT NULL, "duplex" INTEGER NOT NULL, '
            '"colour" INTEGER NOT NULL, "units" INTEGER NOT NULL, "state" VARCHAR(12) NOT NULL, '
            '"cups_state" INTEGER NOT NULL, "note" VARCHAR(40) NOT NULL, "submitted_at" DATETIME NOT NULL, '
            '"released_at" DATETIME, "finished_at" DATETIME, FOREIGN KEY ("member_id") '
            'REFERENCES "member" ("id") ON DELETE SET NULL)',
            'CREATE UNIQUE INDEX "print_job_cups_job_id" ON "print_job" ("cups_job_id")',
            'CREATE INDEX "print_job_host" ON "print_job" ("host")',
            'CREATE INDEX "print_job_code" ON "print_job" ("code")',
            'CREATE INDEX "print_job_member_id" ON "print_job" ("member_id")',
            'CREATE INDEX "print_job_state" ON "print_job" ("state")',
            'CREATE TABLE "print_quota_grant" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"member_id" INTEGER NOT NULL, "period" VARCHAR(10) NOT NULL, "colour" INTEGER NOT NULL, '
            '"pages" INTEGER NOT NULL, "reason" VARCHAR(200) NOT NULL, "granted_by_id" INTEGER, '
            '"created_at" DATETIME NOT NULL, FOREIGN KEY ("member_id") REFERENCES "member" ("id") '
            'ON DELETE CASCADE, FOREIGN KEY ("granted_by_id") REFERENCES "staff_user" ("id") '
            'ON DELETE SET NULL)',
            'CREATE INDEX "print_quota_grant_member_id" ON "print_quota_grant" ("member_id")',
            'CREATE INDEX "print_quota_grant_granted_by_id" ON "print_quota_grant" ("granted_by_id")',
            'CREATE TABLE "print_ledger_entry" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"job_id" INTEGER NOT NULL, "member_id" INTEGER, "kind" VARCHAR(8) NOT NULL, '
            '"colour" INTEGER NOT NULL, "units" INTEGER NOT NULL, "price_cents" INTEGER NOT NULL, '
            '"period" VARCHAR(10) NOT NULL, "day" DATE NOT NULL, "created_at" DATETIME NOT NULL, '
            'FOREIGN KEY ("job_id") REFERENCES "print_job" ("id") ON DELETE CASCADE, '
            'FOREIGN KEY ("member_id") REFERENCES "member" ("id") ON DELETE SET NULL)',
            'CREATE INDEX "print_ledger_entry_job_id" ON "print_ledger_entry" ("job_id")',
            'CREATE INDEX "print_ledger_entry_member_id" ON "print_ledger_entry" ("member_id")',
            'CREATE INDEX "print_ledger_entry_period" ON "print_ledger_entry" ("period")',
            'CREATE INDEX "print_ledger_entry_day" ON "print_ledger_entry" ("day")',
        ],
    ),
    (
        8,
        "visitors' Wi-Fi: vouchers, sessions, pauses",
        [
            'CREATE TABLE "wifi_voucher" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"code" VARCHAR(16) NOT NULL, "batch" VARCHAR(60) NOT NULL, "minutes" INTEGER NOT NULL, '
            '"uses_allowed" INTEGER NOT NULL, "uses" INTEGER NOT NULL, '
            '"created_at" DATETIME NOT NULL, "revoked_at" DATETIME)',
            'CREATE UNIQUE INDEX "wifi_voucher_code" ON "wifi_voucher" ("code")',
            'CREATE TABLE "wifi_session" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"resume_code" VARCHAR(8) NOT NULL, "kind" VARCHAR(12) NOT NULL, "voucher_id" INTEGER, '
            '"ipv4" VARCHAR(15) NOT NULL, "ipv6" VARCHAR(45) NOT NULL, "mac" VARCHAR(17) NOT NULL, '
            '"day" DATE NOT NULL, "started_at" DATETIME NOT NULL, "expires_at" DATETIME NOT NULL, '
            '"ended_at" DATETIME, '
            '"end_reason" VARCHAR(12) NOT NULL, "bytes_base" INTEGER NOT NULL, '
            '"bytes_used" INTEGER NOT NULL, "moves" INTEGER NOT NULL, '
            '"addresses_erased" INTEGER NOT NULL, FOREIGN KEY ("voucher_id") '
            'REFERENCES "wifi_voucher" ("id") ON DELETE SET NULL)',
            'CREATE INDEX "wifi_session_resume_code" ON "wifi_session" ("resume_code")',
            'CREATE INDEX "wifi_session_voucher_id" ON "wifi_session" ("voucher_id")',
            'CREATE INDEX "wifi_session_day" ON "wifi_session" ("day")',
            'CREATE INDEX "wifi_session_ended_at" ON "wifi_session" ("ended_at")',
            'CREATE TABLE "wifi_pause" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"started_at" DATETIME NOT NULL, "ended_at" DATETIME)',
        ],
    ),
    (
        9,
        "the laptop-thèque: devices, loans, resets, maintenance, reservations, terms, audits",
        [
            'CREATE TABLE "device" ("id" INTEGER NOT NULL PRIMARY KEY, "tag" VARCHAR(20) NOT NULL, '
            '"kind" VARCHAR(20) NOT NULL, "model" VARCHAR(80) NOT NULL, "serial" VARCHAR(60) NOT NULL, '
            '"accessories" VARCHAR(200) NOT NULL, "funding" VARCHAR(80) NOT NULL, '
            '"owner" VARCHAR(80) NOT NULL, "acquired_on" DATE, "owned_from" DATE, '
            '"status" VARCHAR(12) NOT NULL, "condition" VARCHAR(8) NOT NULL, '
            '"notes" VARCHAR(300) NOT NULL, "last_seen_at" DATETIME, "created_at" DATETIME NOT NULL, '
            '"retired_at" DATETIME)',
            'CREATE UNIQUE INDEX "device_tag" ON "device" ("tag")',
            'CREATE INDEX "device_status" ON "device" ("status")',
            'CREATE TABLE "loan" ("id" INTEGER NOT NULL PRIMARY KEY, "device_id" INTEGER NOT NULL, '
            '"borrower_id" INTEGER, "kind" VARCHAR(8) NOT NULL, "state" VARCHAR(10) NOT NULL, '
            '"started_at" DATETIME NOT NULL, "due_at" DATETIME NOT NULL, "returned_at" DATETIME, '
            '"lost_at" DATETIME, "renewals" INTEGER NOT NULL, "deposit_cents" INTEGER NOT NULL, '
            '"accessories_out" VARCHAR(200) NOT NULL, "accessories_back" VARCHAR(200) NOT NULL, '
            '"condition_out" VARCHAR(8) NOT NULL, "condition_back" VARCHAR(8) NOT NULL, '
            '"notes" VARCHAR(300) NOT NULL, "out_by_id" INTEGER, "in_by_id" INTEGER, '
            '"reminded_at" DATETIME, "anonymised" INTEGER NOT NULL, '
            'FOREIGN KEY ("device_id") REFERENCES "device" ("id") ON DELETE CASCADE, '
            'FOREIGN KEY ("borrower_id") REFERENCES "member" ("id") ON DELETE SET NULL, '
            'FOREIGN KEY ("out_by_id") REFERENCES "staff_user" ("id") ON DELETE SET NULL, '
            'FOREIGN KEY ("in_by_id") REFERENCES "staff_user" ("id") ON DELETE SET NULL)',
            'CREATE INDEX "loan_device_id" ON "loan" ("device_id")',
            'CREATE INDEX "loan_borrower_id" ON "loan" ("borrower_id")',
            'CREATE INDEX "loan_state" ON "loan" ("state")',
            'CREATE INDEX "loan_started_at" ON "loan" ("started_at")',
            'CREATE INDEX "loan_due_at" ON "loan" ("due_at")',
            'CREATE INDEX "loan_returned_at" ON "loan" ("returned_at")',
            'CREATE INDEX "loan_out_by_id" ON "loan" ("out_by_id")',
            'CREATE INDEX "loan_in_by_id" ON "loan" ("in_by_id")',
            'CREATE TABLE "device_reset" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"device_id" INTEGER NOT NULL, "wiped" INTEGER NOT NULL, "signed_out" INTEGER NOT NULL, '
            '"done_at" DATETIME NOT NULL, "done_by_id" INTEGER, '
            'FOREIGN KEY ("device_id") REFERENCES "device" ("id") ON DELETE CASCADE, '
            'FOREIGN KEY ("done_by_id") REFERENCES "staff_user" ("id") ON DELETE SET NULL)',
            'CREATE INDEX "device_reset_device_id" ON "device_reset" ("device_id")',
            'CREATE INDEX "device_reset_done_by_id" ON "device_reset" ("done_by_id")',
            'CREATE TABLE "maintenance_record" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"device_id" INTEGER NOT NULL, "kind" VARCHAR(12) NOT NULL, "note" VARCHAR(300) NOT NULL, '
            '"opened_at" DATETIME NOT NULL, "closed_at" DATETIME, "by_id" INTEGER, '
            'FOREIGN KEY ("device_id") REFERENCES "device" ("id") ON DELETE CASCADE, '
            'FOREIGN KEY ("by_id") REFERENCES "staff_user" ("id") ON DELETE SET NULL)',
            'CREATE INDEX "maintenance_record_device_id" ON "maintenance_record" ("device_id")',
            'CREATE INDEX "maintenance_record_by_id" ON "maintenance_record" ("by_id")',
            'CREATE TABLE "reservation" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"member_id" INTEGER NOT NULL, "kind" VARCHAR(20) NOT NULL, "device_id" INTEGER, '
            '"for_day" DATE, "state" VARCHAR(10) NOT NULL, "created_at" DATETIME NOT NULL, '
            '"closed_at" DATETIME, '
            'FOREIGN KEY ("member_id") REFERENCES "member" ("id") ON DELETE CASCADE, '
            'FOREIGN KEY ("device_id") REFERENCES "device" ("id") ON DELETE CASCADE)',
            'CREATE INDEX "reservation_member_id" ON "reservation" ("member_id")',
            'CREATE INDEX "reservation_device_id" ON "reservation" ("device_id")',
            'CREATE INDEX "reservation_for_day" ON "reservation" ("for_day")',
            'CREATE INDEX "reservation_state" ON "reservation" ("state")',
            'CREATE TABLE "lending_terms_acceptance" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"member_id" INTEGER NOT NULL, "accepted_on" DATE NOT NULL, '
            '"language" VARCHAR(2) NOT NULL, '
            'FOREIGN KEY ("member_id") REFERENCES "member" ("id") ON DELETE CASCADE)',
            'CREATE UNIQUE INDEX "lending_terms_acceptance_member_id" ON "lending_terms_acceptance" ("member_id")',
            'CREATE TABLE "lending_terms" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"language" VARCHAR(2) NOT NULL, "text" TEXT NOT NULL, "updated_at" DATETIME NOT NULL, '
            '"updated_by_id" INTEGER, '
            'FOREIGN KEY ("updated_by_id") REFERENCES "staff_user" ("id") ON DELETE SET NULL)',
            'CREATE UNIQUE INDEX "lending_terms_language" ON "lending_terms" ("language")',
            'CREATE INDEX "lending_terms_updated_by_id" ON "lending_terms" ("updated_by_id")',
            'CREATE TABLE "lending_audit" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"started_at" DATETIME NOT NULL, "finished_at" DATETIME, "by_id" INTEGER, '
            'FOREIGN KEY ("by_id") REFERENCES "staff_user" ("id") ON DELETE SET NULL)',
            'CREATE INDEX "lending_audit_by_id" ON "lending_audit" ("by_id")',
        ],
    ),
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
