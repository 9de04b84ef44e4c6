"""Encrypted backups of a data directory, and restores that erase again whoever was erased since.

A backup file is `MAGIC`, a 2-byte header length, a JSON header (format version, scrypt
parameters and salt, cipher, nonce) and the AES-256-GCM ciphertext of a tar.gz holding
`manifest.json`, a consistent copy of `epn.sqlite3` (SQLite online backup API, safe while
the server and the worker run), `config.yaml`, `secret_key` and `keys/report_key.pem`.
The header is authenticated too (it is the AEAD's associated data). The passphrase is
never written anywhere. The task queue (`queue.sqlite3`) is transient and not kept.

A restore must run with `epn serve` and `epn worker` stopped.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import struct
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from peewee import PeeweeException

from appliance.config import CONFIG_FILE, SECRET_FILE, Config
from appliance.durable import sync_directory, write_file
from appliance.models import utcnow

MAGIC = b"EPN-BACKUP\n"
FORMAT = 1
DATABASE_FILE = "epn.sqlite3"
MANIFEST_FILE = "manifest.json"
KEY_FILE = "keys/report_key.pem"
# Files kept besides the database, relative to the data directory.
CONFIG_FILES = (CONFIG_FILE, SECRET_FILE, KEY_FILE)
ARCHIVE_FILES = frozenset({MANIFEST_FILE, DATABASE_FILE, *CONFIG_FILES})
# scrypt: 32 MiB of memory, about half a second on a Raspberry Pi 4.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSPHRASE = 8
BEFORE_RESTORE = ".before-restore"


class BackupError(Exception):
    """A backup cannot be made or restored; the message is one line for the user."""


@dataclass
class RestoreResult:
    backup_time: datetime
    schema_from: int
    schema_to: int
    rows: dict[str, int] = field(default_factory=dict)
    erasures_copied: int = 0
    members_erased_again: int = 0
    files_restored: list[str] = field(default_factory=list)
    files_kept: list[str] = field(default_factory=list)


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("epn-appliance")
    except PackageNotFoundError:
        return "unknown"


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _schema_version(connection: sqlite3.Connection) -> int:
    if connection.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migration'").fetchone() is None:
        return 0
    return connection.execute('SELECT MAX("version") FROM "schema_migration"').fetchone()[0] or 0


def snapshot_database(source: Path, target: Path) -> int:
    """Copy the live database `source` to `target` with SQLite's online backup; return its schema."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step: one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{source}: the database copy fails SQLite's check")
        return _schema_version(dst)
    finally:
        dst.close()
        src.close()


def create_backup(config: Config, path: Path | str, passphrase: str) -> dict[str, Any]:
    """Write an encrypted backup of the data directory to `path`; return its manifest.

    If `path` is a folder, the file is made in it with a dated name (`manifest["path"]`).
    """
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    target = Path(path)
    if target.is_dir():
        target = target / f"epn-backup-{utcnow():%Y%m%d-%H%M%S}.epnbak"
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such folder")
    if not config.database_path.exists():
        raise BackupError(f"{config.data_dir}: no database to back up")
    # Taken before the snapshot: an erasure made while copying is re-applied by a restore.
    backup_time = utcnow()
    with tempfile.TemporaryDirectory(prefix="epn-backup-") as scratch:
        copy = Path(scratch) / DATABASE_FILE
        schema = snapshot_database(config.database_path, copy)
        members: dict[str, bytes] = {DATABASE_FILE: copy.read_bytes()}
    for name in CONFIG_FILES:
        file = config.data_dir / name
        if file.is_file():
            members[name] = file.read_bytes()
    manifest = {
        "format": FORMAT,
        "created_at": backup_time.isoformat(),
        "schema_version": schema,
        "app_version": _app_version(),
        "site": config.site.name,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(members.items())},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in [(MANIFEST_FILE, json.dumps(manifest, indent=1).encode()), *sorted(members.items())]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, int(backup_time.timestamp())
            tar.addfile(info, io.BytesIO(data))
    salt, nonce = os.urandom(16), os.urandom(12)
    header = json.dumps({
        "format": FORMAT, "kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
        "salt": salt.hex(), "cipher": "AES-256-GCM", "nonce": nonce.hex(),
    }, sort_keys=True).encode()
    key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    ciphertext = AESGCM(key).encrypt(nonce, buffer.getvalue(), MAGIC + header)
    write_file(target, MAGIC + struct.pack(">H", len(header)) + header + ciphertext)
    manifest["path"] = str(target)
    return manifest


def read_backup(path: Path | str, passphrase: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Decrypt and check a backup file: its manifest and its files (name -> bytes)."""
    try:
        blob = Path(path).read_bytes()
    except OSError as error:
        raise BackupError(f"{path}: {error.strerror}") from None
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 2:
        raise BackupError(f"{path}: not an EPN backup file")
    (length,) = struct.unpack(">H", blob[len(MAGIC):len(MAGIC) + 2])
    header_bytes = blob[len(MAGIC) + 2:len(MAGIC) + 2 + length]
    try:
        header = json.loads(header_bytes)
        if header["format"] != FORMAT:
            raise BackupError(f"{path}: backup format {header['format']} is not known to this release")
        n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
        if header["kdf"] != "scrypt" or header["cipher"] != "AES-256-GCM" or not (
            2 <= n <= 2**20 and 1 <= r <= 16 and 1 <= p <= 4
        ):
            raise ValueError("unknown parameters")
        salt, nonce = bytes.fromhex(header["salt"]), bytes.fromhex(header["nonce"])
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{path}: damaged backup header") from None
    key = _derive(passphrase, salt, n, r, p)
    try:
        plain = AESGCM(key).decrypt(nonce, blob[len(MAGIC) + 2 + length:], MAGIC + header_bytes)
    except (InvalidTag, ValueError):
        raise BackupError(f"{path}: wrong passphrase, or the file was damaged or altered") from None
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as tar:
        for info in tar.getmembers():
            if not info.isfile() or info.name not in ARCHIVE_FILES:
                raise BackupError(f"{path}: unexpected entry {info.name!r} in the backup")
            extracted = tar.extractfile(info)
            assert extracted is not None
            files[info.name] = extracted.read()
    manifest = json.loads(files.pop(MANIFEST_FILE))
    for name, digest in manifest["files"].items():
        if hashlib.sha256(files.get(name, b"")).hexdigest() != digest:
            raise BackupError(f"{path}: {name} does not match the backup's manifest")
    return manifest, files


def _erasures_since(database_path: Path, since: datetime) -> list[tuple[str, str, str]]:
    """The current database's erasure log rows made at or after `since`."""
    if not database_path.exists():
        return []
    connection = sqlite3.connect(f"file:{database_path}?mode=ro", uri=True, timeout=30)
    try:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name='erasure'").fetchone() is None:
            return []
        rows = connection.execute('SELECT "member_digest", "erased_at", "reason" FROM "erasure"').fetchall()
    finally:
        connection.close()
    return [row for row in rows if datetime.fromisoformat(str(row[1])) >= since]


def _remove_sidecars(database_path: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{database_path}{suffix}").unlink(missing_ok=True)


def _discard(staged: Path) -> None:
    from appliance.db import database

    if not database.is_closed():
        database.close()
    staged.unlink(missing_ok=True)
    _remove_sidecars(staged)


def restore_backup(data_dir: Path | str, path: Path | str, passphrase: str,
                   keep_config: bool = False) -> RestoreResult:
    """Restore a backup into `data_dir` (`epn serve` and `epn worker` must be stopped).

    Erasures logged in the current database since the backup are copied into the restored
    one and applied again. The previous database is kept as `epn.sqlite3.before-restore`,
    replaced files as `<name>.before-restore`. With `keep_config`, existing config.yaml,
    secret_key and signing key stay as they are. Nothing is changed if anything fails
    before the database is swapped in.
    """
    from appliance.db import database, init_database
    from appliance.members import reapply_erasures
    from appliance.migrations import LATEST, SchemaTooNew
    from appliance.models import Erasure, Member, Visit

    manifest, files = read_backup(path, passphrase)
    schema = int(manifest["schema_version"])
    if schema > LATEST:
        raise BackupError(f"{path}: the backup has schema version {schema}, this release knows up "
                          f"to {LATEST}: install a newer release first")
    backup_time = datetime.fromisoformat(manifest["created_at"])
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    current = data_dir / DATABASE_FILE
    try:
        erasures = _erasures_since(current, backup_time)
    except sqlite3.Error as error:
        raise BackupError(f"{current}: cannot read its erasure log ({error}); to restore anyway, "
                          "move the damaged database out of the data directory first") from None
    result = RestoreResult(backup_time=backup_time, schema_from=schema, schema_to=LATEST)

    staged = data_dir / f".{DATABASE_FILE}.restore-{os.getpid()}"
    _remove_sidecars(staged)
    staged.unlink(missing_ok=True)
    try:
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(files[DATABASE_FILE])
        init_database(staged, migrate=True)
        with database.connection_context():
            known = {(row.member_digest, row.erased_at) for row in Erasure.select()}
            with database.atomic():
                for digest, erased_at, reason in erasures:
                    moment = datetime.fromisoformat(str(erased_at))
                    if (digest, moment) not in known:
                        Erasure.create(member_digest=digest, erased_at=moment, reason=reason)
                        result.erasures_copied += 1
            result.members_erased_again = reapply_erasures(backup_time)
            result.rows = {"members": Member.select().count(), "visits": Visit.select().count(),
                           "erasure_log": Erasure.select().count()}
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.close()
        check = sqlite3.connect(staged)
        try:
            check.execute("PRAGMA journal_mode=DELETE")
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{path}: the restored database fails SQLite's check")
        finally:
            check.close()
        with open(staged, "rb+") as handle:
            os.fsync(handle.fileno())
    except (sqlite3.Error, PeeweeException, SchemaTooNew) as error:
        _discard(staged)
        init_database(current, migrate=False)
        raise BackupError(f"{path}: the database in the backup cannot be restored ({error})") from None
    except BaseException:
        _discard(staged)
        init_database(current, migrate=False)
        raise

    # The swap: keep the previous database (checkpointed, so its -wal holds nothing), then
    # move the staged one in and drop the old one's sidecar files.
    if current.exists():
        old = sqlite3.connect(current, timeout=5)
        try:
            busy = old.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error:
            busy = 1
        finally:
            old.close()
        if busy:
            staged.unlink(missing_ok=True)
            init_database(current, migrate=False)
            raise BackupError(f"{current}: the database is in use; stop `epn serve` and "
                              "`epn worker` first, then restore again")
        os.replace(current, data_dir / (DATABASE_FILE + BEFORE_RESTORE))
    _remove_sidecars(current)
    os.replace(staged, current)
    sync_directory(data_dir)

    for name in CONFIG_FILES:
        target = data_dir / name
        if name not in files:
            continue
        if target.exists() and keep_config:
            result.files_kept.append(name)
            continue
        if target.exists():
            if target.read_bytes() == files[name]:
                result.files_restored.append(name)
                continue
            os.replace(target, target.with_name(target.name + BEFORE_RESTORE))
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_file(target, files[name])
        result.files_restored.append(name)
    init_database(current, migrate=False)
    return result
