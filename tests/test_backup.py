"""`epn backup` / `epn restore`: encrypted, consistent, and erasures made since stay made."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from appliance.backup import MAGIC, BackupError, create_backup, read_backup, restore_backup
from appliance.config import load_config
from appliance.db import database, init_database
from appliance.desk.visits import log_visit
from appliance.federation.keys import ensure_key
from appliance.members import create_member, erase_member
from appliance.migrations import LATEST
from appliance.models import Erasure, Member, SurveyResponse, Visit
from tests.conftest import EPN

PASSPHRASE = "correct horse battery staple"
NOW = datetime(2026, 11, 16, 10, 30)


def _seed(data_dir: Path) -> None:
    with database.connection_context():
        for purpose in ("learning_ict", "job_search", "learning_ict"):
            log_visit(purpose, ["computer"], NOW)
        create_member("Alice Martin", "alice@example.org", "fr", "visitor", True, None, NOW.date())
        SurveyResponse.create(day=NOW.date(), answers=json.dumps({"age": ["25_44"]}))


def _state() -> dict:
    with database.connection_context():
        return {
            "visits": sorted((v.day, v.purpose) for v in Visit.select()),
            "members": sorted(m.display_name for m in Member.select()),
            "survey": SurveyResponse.select().count(),
        }


def _fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def config(data_dir: Path):  # type: ignore[no-untyped-def]
    _seed(data_dir)
    ensure_key(data_dir)
    return load_config(data_dir, environ={})


def test_round_trip_restores_the_backup_state_and_keeps_the_previous_database(config, tmp_path):
    before = _state()
    manifest = create_backup(config, tmp_path / "b.epnbak", PASSPHRASE)
    assert manifest["schema_version"] == LATEST and manifest["app_version"]
    assert set(manifest["files"]) == {"epn.sqlite3", "config.yaml", "secret_key", "keys/report_key.pem"}
    blob = (tmp_path / "b.epnbak").read_bytes()
    assert blob.startswith(MAGIC) and b"Alice" not in blob and b"SQLite format" not in blob

    with database.connection_context():
        log_visit("job_search", [], NOW + timedelta(days=1))
        Member.delete().execute()
    assert _state() != before

    result = restore_backup(config.data_dir, tmp_path / "b.epnbak", PASSPHRASE)
    assert _state() == before
    assert result.rows["members"] == 1 and result.members_erased_again == 0
    assert (config.data_dir / "epn.sqlite3.before-restore").exists()
    assert not Path(f"{config.database_path}-wal").exists() or Path(f"{config.database_path}-wal").stat().st_size == 0


def test_restore_into_an_empty_folder_brings_config_and_keys(config, tmp_path):
    create_backup(config, tmp_path, PASSPHRASE)
    backup = next(tmp_path.glob("epn-backup-*.epnbak"))
    fresh = tmp_path / "new-card"
    result = restore_backup(fresh, backup, PASSPHRASE)
    assert sorted(result.files_restored) == ["config.yaml", "keys/report_key.pem", "secret_key"]
    for name in result.files_restored:
        assert (fresh / name).read_bytes() == (config.data_dir / name).read_bytes()
    assert load_config(fresh, environ={}).site.name == "EPN Test"
    assert _state()["members"] == ["Alice Martin"]


def test_keep_config_keeps_existing_files(config, tmp_path):
    create_backup(config, tmp_path / "b.epnbak", PASSPHRASE)
    (config.data_dir / "secret_key").write_text("changed")
    result = restore_backup(config.data_dir, tmp_path / "b.epnbak", PASSPHRASE, keep_config=True)
    assert "secret_key" in result.files_kept
    assert (config.data_dir / "secret_key").read_text() == "changed"


def test_online_backup_while_another_connection_writes_is_consistent(config, tmp_path):
    stop = threading.Event()
    written = []

    def writer() -> None:
        connection = sqlite3.connect(config.database_path, timeout=30)
        while not stop.is_set():
            with connection:
                connection.execute(
                    'INSERT INTO "visit" ("day", "hour", "purpose", "source", "used_computer", '
                    '"used_mediator", "used_printing", "used_wifi", "used_training", "created_at") '
                    "VALUES ('2026-11-16', 10, 'admin', 'walk_in', 0, 0, 0, 0, 0, '2026-11-16 10:00:00')")
            written.append(1)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(written) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        manifests = [create_backup(config, tmp_path / f"b{i}.epnbak", PASSPHRASE) for i in range(3)]
    finally:
        stop.set()
        thread.join()
    counts = []
    for manifest in manifests:
        _, files = read_backup(manifest["path"], PASSPHRASE)
        copy = tmp_path / "copy.sqlite3"
        copy.write_bytes(files["epn.sqlite3"])
        connection = sqlite3.connect(copy)
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts.append(connection.execute('SELECT COUNT(*) FROM "visit"').fetchone()[0])
        connection.close()
        copy.unlink()
    assert counts == sorted(counts) and counts[0] >= 3 + 50 and counts[-1] <= 3 + len(written)


def test_wrong_passphrase_is_one_error_and_touches_nothing(config, tmp_path):
    create_backup(config, tmp_path / "b.epnbak", PASSPHRASE)
    database.close()
    before = _fingerprint(config.data_dir)
    with pytest.raises(BackupError, match="wrong passphrase"):
        restore_backup(config.data_dir, tmp_path / "b.epnbak", "not the passphrase")
    assert _fingerprint(config.data_dir) == before


@pytest.mark.parametrize("where", [len(MAGIC) + 5, -1, -300])
def test_a_tampered_byte_is_refused(config, tmp_path, where):
    create_backup(config, tmp_path / "b.epnbak", PASSPHRASE)
    blob = bytearray((tmp_path / "b.epnbak").read_bytes())
    blob[where] ^= 0x01
    (tmp_path / "b.epnbak").write_bytes(bytes(blob))
    before = _fingerprint(config.data_dir)
    with pytest.raises(BackupError):
        restore_backup(config.data_dir, tmp_path / "b.epnbak", PASSPHRASE)
    assert _fingerprint(config.data_dir) == before


def test_a_member_erased_after_the_backup_is_erased_again(config, tmp_path):
    with database.connection_context():
        bob = create_member("Bob Peeters", "bob@example.org", "nl", "visitor", True, None, NOW.date())
    create_backup(config, tmp_path / "b.epnbak", PASSPHRASE)
    with database.connection_context():
        erase_member(Member.get_by_id(bob.id))
        digest = Erasure.get().member_digest
    result = restore_backup(config.data_dir, tmp_path / "b.epnbak", PASSPHRASE)
    assert result.erasures_copied == 1 and result.members_erased_again == 1
    assert _state()["members"] == ["Alice Martin"]
    with database.connection_context():
        assert Erasure.select().where(Erasure.member_digest == digest).count() >= 1


def test_a_backup_from_a_newer_schema_is_refused(config, tmp_path):
    with database.connection_context():
        database.execute_sql('INSERT INTO "schema_migration" ("version", "name", "applied_at") '
                             "VALUES (?, 'from the future', '2030-01-01 00:00:00')", (LATEST + 1,))
    create_backup(config, tmp_path / "b.epnbak", PASSPHRASE)
    with database.connection_context():
        database.execute_sql('DELETE FROM "schema_migration" WHERE "version" = ?', (LATEST + 1,))
    before = _fingerprint(config.data_dir)
    with pytest.raises(BackupError, match="newer release"):
        restore_backup(config.data_dir, tmp_path / "b.epnbak", PASSPHRASE)
    assert _fingerprint(config.data_dir) == before


def test_a_short_passphrase_is_refused(config, tmp_path):
    with pytest.raises(BackupError, match="at least"):
        create_backup(config, tmp_path / "b.epnbak", "short")
    assert not (tmp_path / "b.epnbak").exists()


def epn(*args, stdin=None):
    return subprocess.run([EPN, *args], check=False, input=stdin, capture_output=True, text=True, timeout=120)


def test_cli_round_trip_with_the_passphrase_on_stdin(config, tmp_path):
    database.close()
    data = str(config.data_dir)
    result = epn("backup", "--data", data, str(tmp_path / "b.epnbak"), stdin=PASSPHRASE + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "b.epnbak")

    with database.connection_context():
        Visit.delete().execute()
    result = epn("restore", "--data", data, str(tmp_path / "b.epnbak"), stdin="wrong passphrase\n")
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "wrong passphrase" in result.stderr

    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    result = epn("restore", "--data", data, str(tmp_path / "b.epnbak"), "--passphrase-file", str(tmp_path / "pass"))
    assert result.returncode == 0, result.stderr
    assert "visits: 3" in result.stdout
    init_database(config.database_path, migrate=False)
    assert len(_state()["visits"]) == 3


@pytest.mark.parametrize("command", [["backup"], ["restore"]])
def test_cli_help(command):
    result = epn(*command, "--help")
    assert result.returncode == 0 and "--passphrase-file" in result.stdout


def test_restore_refuses_while_another_process_reads_the_database(config, tmp_path):
    create_backup(config, tmp_path / "b.epnbak", PASSPHRASE)
    reader = sqlite3.connect(config.database_path)
    reader.execute("BEGIN")
    reader.execute('SELECT COUNT(*) FROM "visit"').fetchone()
    with database.connection_context():
        log_visit("job_search", [], NOW)  # a write the reader's snapshot keeps in the WAL
    try:
        with pytest.raises(BackupError, match="in use"):
            restore_backup(config.data_dir, tmp_path / "b.epnbak", PASSPHRASE)
    finally:
        reader.rollback()
        reader.close()
    assert not list(config.data_dir.glob(".epn.sqlite3.restore-*"))
    assert not (config.data_dir / "epn.sqlite3.before-restore").exists()
    assert database.database == str(config.database_path) and len(_state()["visits"]) == 4


def test_a_damaged_current_database_stops_the_restore_with_advice(config, tmp_path):
    create_backup(config, tmp_path / "b.epnbak", PASSPHRASE)
    database.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{config.database_path}{suffix}").unlink(missing_ok=True)
    config.database_path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="move the damaged database"):
        restore_backup(config.data_dir, tmp_path / "b.epnbak", PASSPHRASE)
    config.database_path.rename(tmp_path / "damaged.sqlite3")
    result = restore_backup(config.data_dir, tmp_path / "b.epnbak", PASSPHRASE)
    assert result.rows["members"] == 1 and _state()["members"] == ["Alice Martin"]
