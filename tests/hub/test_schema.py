"""The hub's database: migrations that match the models, and no column that could hold
a name, a contact, an address or free text about a visitor."""

from __future__ import annotations

import re
from pathlib import Path

from peewee import SqliteDatabase, TextField

from appliance.federation.hub import models
from appliance.federation.hub.db import (
    HUB_LATEST,
    SQLITE_PRAGMAS,
    current_version,
    database,
    upgrade,
)

PERSONAL = re.compile(r"(first|last|full|nick|display|user)_?name|email|phone|address|mac_?addr|ip_?addr"
                      r"|birth|contact|comment|note", re.IGNORECASE)
HUB_DIR = Path(models.__file__).parent


def test_no_hub_model_field_is_named_like_personal_data():
    # accounts.py holds the coordination's own accounts: the hub's only personal data,
    # with their own retention (hub.account_retention_days).
    for path in HUB_DIR.glob("*.py"):
        if path.name == "accounts.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*(\w+)\s*=\s*\w*Field\(", line)
            assert not (match and PERSONAL.search(match[1])), f"{path.name}: {line.strip()}"


def test_the_only_free_text_column_holds_a_reports_validated_figures():
    text_columns = [(model.__name__, f.name) for model in models.MODELS
                    for f in model._meta.sorted_fields if isinstance(f, TextField)]
    assert text_columns == [("Report", "figures")]


def test_the_migrated_schema_matches_the_models(hub_app):  # type: ignore[no-untyped-def]
    with database.connection_context():
        for model in models.MODELS:
            table = model._meta.table_name
            columns = {c.name for c in database.get_columns(table)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, table
        assert current_version(database.obj) == HUB_LATEST


def test_migrations_run_once_and_report_what_they_applied(tmp_path):  # type: ignore[no-untyped-def]
    db = SqliteDatabase(str(tmp_path / "hub.sqlite3"), pragmas=SQLITE_PRAGMAS)
    with db.connection_context():
        assert upgrade(db) == list(range(1, HUB_LATEST + 1))
        assert upgrade(db) == []
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
