"""`epn update`: fetch a signed release, install it beside the running one, switch, and
switch back by itself when the new release does not answer /healthz.

The order keeps the appliance serving as long as possible: everything that can be
refused (index, download, size, SHA-256, signature, manifest, arch, version, schema) is
checked in a scratch folder before anything under PREFIX or in the data directory
changes; the new virtualenv is built while the old release still serves; the database
snapshot is taken just before the switch, so it misses as few writes as possible.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from appliance.http import TransportError, request
from appliance.update import fetch
from appliance.update.bundle import (
    MAX_INDEX_BYTES, MAX_RELEASE_BYTES, REQUIREMENTS, Index, ReleaseError, check_signature,
    extract, index_name, parse_version, read_manifest, sha256_file,
)
from appliance.update.layout import Layout

log = logging.getLogger("appliance.update")
SNAPSHOT = "epn.sqlite3.before-update"
COMMAND_SECONDS = 600


class UpdateFailed(Exception):
    """The new release was installed but failed; the message says what was rolled back."""


@dataclass(frozen=True)
class Request:
    """One update, from the configuration and the command line."""

    source: str
    prefix: Path
    trusted_keys: tuple[str, ...]
    restart_command: str
    health_url: str
    health_seconds: int
    keep_releases: int
    database: Path
    allow_downgrade: bool = False
    check_only: bool = False
    automatic: bool = False
    arch: str = platform.machine()


@dataclass
class Offer:
    """A release fetched and verified in the scratch folder."""

    version: str
    path: Path
    sha256: str
    manifest: dict[str, Any]


def run_update(job: Request) -> str:
    """Do the update; return the closing line. ReleaseError: refused, nothing changed.
    UpdateFailed: the new release failed its health check and the old one is back."""
    layout = Layout(job.prefix)
    with layout.locked(), tempfile.TemporaryDirectory(prefix="epn-update-") as scratch:
        if not job.check_only:
            _resume_interrupted(layout, job)
        installed = layout.version_of(layout.current)
        log.info("installed release: %s (under %s)", installed or "none", layout.prefix)
        index = _read_index(job) if not job.source.endswith(".tar") else None
        if index is not None:
            done = _compare(index.version, installed, job) or _known_bad(layout, job, index.version,
                                                                         index.sha256)
            if done:
                return done
        offer = _fetch(job, index, Path(scratch))
        if index is None:
            done = _compare(offer.version, installed, job)
            if done:
                return done
        _check_schema(offer, job.database)
        if job.check_only:
            return f"{offer.version} is available and verified (installed: {installed or 'none'})"
        done = _known_bad(layout, job, offer.version, offer.sha256)
        if done:
            return done
        wheels = Path(scratch) / "wheels"
        wheels.mkdir()
        extract(offer.path, offer.manifest, wheels)
        _install(layout, offer, wheels)
        return _switch(layout, job, offer, installed)


def _known_bad(layout: Layout, job: Request, version: str, sha256: str) -> str | None:
    """The timer does not try again a release that already failed here (a person may)."""
    failed = layout.read_state().get("failed", {}).get(version)
    if job.automatic and not job.check_only and failed and failed.get("sha256") == sha256:
        return (f"{failed['reason']} on {failed['at'][:16]}; not retried automatically: "
                "run `epn update` to try it again")
    return None


def _read_index(job: Request) -> Index:
    location = _index_location(job)
    log.info("reading the release index %s", fetch.describe(location))
    index = Index.parse(fetch.read_small(location, MAX_INDEX_BYTES), fetch.describe(location))
    if index.arch != job.arch:
        raise ReleaseError(f"the index offers a release for {index.arch}; this machine is {job.arch}")
    return index


def _compare(offered: str, installed: str | None, job: Request) -> str | None:
    """A closing line when there is nothing to do; refuses a downgrade unless allowed."""
    log.info("release offered: %s", offered)
    if installed is None:
        return None
    if parse_version(offered) == parse_version(installed):
        return f"already up to date ({installed})"
    if parse_version(offered) < parse_version(installed) and not job.allow_downgrade:
        raise ReleaseError(f"{offered} is older than the installed {installed}; "
                           "use --allow-downgrade to install it anyway")
    return None


def _fetch(job: Request, index: Index | None, scratch: Path) -> Offer:
    """Download the release into `scratch` and verify it; refuse with one line."""
    if index is None:
        location, signature = job.source, None
    else:
        location, signature = fetch.beside(_index_location(job), index.file), index.signature
    target = scratch / "release.tar"
    log.info("downloading %s", fetch.describe(location))
    size = fetch.download(location, target, index.size if index else MAX_RELEASE_BYTES)
    digest = sha256_file(target)
    if index is not None and (size != index.size or digest != index.sha256):
        raise ReleaseError(f"{index.file}: size or SHA-256 differs from the index; refused")
    if signature is None:
        signature = fetch.read_small(location + ".sig", 1024).decode("ascii", "replace").strip()
    key = check_signature(target, signature, job.trusted_keys)
    manifest = read_manifest(target)
    log.info("%s: %d bytes, sha256 %s, signed by key %s", manifest["version"], size, digest[:16], key)
    if manifest.get("arch") != job.arch:
        raise ReleaseError(f"release {manifest['version']} is built for {manifest.get('arch')}; "
                           f"this machine is {job.arch}")
    if index is not None and manifest["version"] != index.version:
        raise ReleaseError(f"the index announces {index.version} but the signed release is "
                           f"{manifest['version']}; refused")
    return Offer(manifest["version"], target, digest, manifest)


def _index_location(job: Request) -> str:
    if job.source.endswith(".json"):
        return job.source
    return fetch.inside(job.source, index_name(job.arch))


def _check_schema(offer: Offer, database: Path) -> None:
    """A release older than the database's schema could not open it: refuse now."""
    current = schema_of(database)
    wanted = int(offer.manifest.get("schema", 0))
    if current is not None and current > wanted:
        raise ReleaseError(f"release {offer.version} knows database schema up to {wanted}, "
                           f"the database is at {current}; refused")


def _install(layout: Layout, offer: Offer, wheels: Path) -> None:
    """A fresh virtualenv at PREFIX/releases/<version>, installed offline from the bundle."""
    target = layout.release(offer.version)
    if target.exists():  # a leftover of an attempt that did not finish
        shutil.rmtree(target)
    layout.releases.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log.info("installing %s into %s", offer.version, target)
    python = getattr(sys, "_base_executable", None) or sys.executable
    try:
        _run([python, "-m", "venv", str(target)])
        _run([str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
              "--disable-pip-version-check", "--no-cache-dir", "--find-links", str(wheels),
              "-r", str(wheels / REQUIREMENTS)])
        shown = _run([str(target / "bin" / "epn"), "--version"])
        if offer.version not in shown:
            raise ReleaseError(f"the installed release says {shown.strip()!r}, not {offer.version}")
    except ReleaseError as error:
        shutil.rmtree(target, ignore_errors=True)
        raise ReleaseError(f"installing {offer.version} failed: {error}") from None
    (target / "epn-release.json").write_text(json.dumps(offer.manifest, indent=1) + "\n")
    log.info("installed %s in %.0f s", offer.version, time.monotonic() - started)


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ReleaseError(f"{Path(command[0]).name}: {error}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise ReleaseError(f"{Path(command[0]).name} exited {done.returncode}: {lines[-1]}")
    return done.stdout


def _switch(layout: Layout, job: Request, offer: Offer, installed: str | None) -> str:
    """Snapshot, switch, restart, check; on failure switch back and raise UpdateFailed."""
    snapshot = take_snapshot(job.database)
    # Written first: after a power cut in the middle, the next run finishes the job.
    _set_pending(layout, {"version": offer.version, "sha256": offer.sha256, "previous": installed,
                          "snapshot": str(snapshot[0]) if snapshot else None,
                          "schema": snapshot[1] if snapshot else None})
    layout.point(layout.current, offer.version)
    log.info("current -> releases/%s", offer.version)
    healthy, detail = _restart_and_check(job, offer.version)
    if healthy:
        _settle(layout, job, offer.version, installed, snapshot)
        return f"updated {installed or 'nothing'} -> {offer.version}"
    reason = f"{offer.version} failed its health check ({detail})"
    raise UpdateFailed(_roll_back(layout, job, offer.version, offer.sha256, installed, snapshot, reason))


def _settle(layout: Layout, job: Request, version: str, previous: str | None,
            snapshot: tuple[Path, int] | None) -> None:
    """The new release answers: forget the snapshot, remember the previous release, prune."""
    _drop_snapshot(snapshot)
    if previous is not None and previous != version:
        layout.point(layout.previous, previous)
    state = layout.read_state()
    state.get("failed", {}).pop(version, None)
    state.pop("pending", None)
    layout.write_state(state)
    removed = layout.prune(job.keep_releases)
    if removed:
        log.info("removed old releases: %s", ", ".join(removed))


def _roll_back(layout: Layout, job: Request, failed: str, sha256: str, back_to: str | None,
               snapshot: tuple[Path, int] | None, reason: str) -> str:
    """Switch back to `back_to`, restore the database if its schema moved; the closing line."""
    log.error("%s; rolling back", reason)
    _remember_failure(layout, failed, sha256, reason)
    if back_to is None:
        layout.current.unlink(missing_ok=True)
        _set_pending(layout, None)
        return f"{reason}; no earlier release to go back to"
    layout.point(layout.current, back_to)
    log.info("current -> releases/%s", back_to)
    healthy, detail = _restore_and_restart(job, back_to, snapshot)
    shutil.rmtree(layout.release(failed), ignore_errors=True)
    _set_pending(layout, None)
    if not healthy:
        return (f"{reason}; rolled back to {back_to}, which does not answer either ({detail}): "
                "see the service logs; the database snapshot is kept")
    _drop_snapshot(snapshot)
    return f"{reason}; rolled back to {back_to}"


def _restore_and_restart(job: Request, version: str,
                         snapshot: tuple[Path, int] | None) -> tuple[bool, str]:
    if snapshot is not None and schema_of(job.database) != snapshot[1]:
        restore_snapshot(snapshot[0], job.database)
        log.info("database restored from %s (schema %d)", snapshot[0].name, snapshot[1])
    return _restart_and_check(job, version)


def _resume_interrupted(layout: Layout, job: Request) -> None:
    """Finish an update that a power cut (or a kill) stopped between switch and check."""
    pending = layout.read_state().get("pending")
    if not pending:
        return
    version, previous = pending["version"], pending.get("previous")
    log.warning("an update to %s was interrupted; finishing it", version)
    snapshot = None
    if pending.get("snapshot") and Path(pending["snapshot"]).exists():
        snapshot = (Path(pending["snapshot"]), int(pending["schema"]))
    if layout.version_of(layout.current) != version:  # stopped before the switch, or rolling back
        if previous is not None and layout.version_of(layout.current) == previous:
            _restore_and_restart(job, previous, snapshot)
        _drop_snapshot(snapshot)
        _set_pending(layout, None)
        return
    healthy, detail = _restart_and_check(job, version)
    if healthy:
        _settle(layout, job, version, previous, snapshot)
        return
    reason = f"the interrupted update to {version} does not answer ({detail})"
    raise UpdateFailed(_roll_back(layout, job, version, pending["sha256"], previous, snapshot, reason))


def _set_pending(layout: Layout, pending: dict[str, Any] | None) -> None:
    state = layout.read_state()
    if pending is None:
        state.pop("pending", None)
    else:
        state["pending"] = pending
    layout.write_state(state)


def _remember_failure(layout: Layout, version: str, sha256: str, reason: str) -> None:
    state = layout.read_state()
    state.setdefault("failed", {})[version] = {
        "sha256": sha256, "reason": reason,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    layout.write_state(state)


def _restart_and_check(job: Request, version: str) -> tuple[bool, str]:
    log.info("restarting: %s", job.restart_command)
    try:
        _run(shlex.split(job.restart_command))
    except ReleaseError as error:
        return False, f"restart command: {error}"
    return wait_healthy(job.health_url, job.health_seconds, version)


def wait_healthy(url: str, seconds: int, version: str | None = None) -> tuple[bool, str]:
    """Poll /healthz until it answers 200 with status ok, for at most `seconds`.

    When the answer names a version, it must be `version`: an old process still
    answering while a restart is under way does not count."""
    started = time.monotonic()
    last = "no answer"
    while True:
        try:
            answer = request("GET", url, timeout=5)
            body = answer.json() if answer.status == 200 else None
            if isinstance(body, dict) and body.get("status") == "ok" \
                    and version in (None, body.get("version", version)):
                log.info("/healthz answered 200 after %.1f s", time.monotonic() - started)
                return True, "ok"
            last = f"/healthz answered {answer.status}"
        except TransportError:
            last = "/healthz did not answer"
        if time.monotonic() - started >= seconds:
            return False, f"{last} for {seconds} s"
        time.sleep(1)


def schema_of(database: Path) -> int | None:
    """The schema version of the appliance database, or None without one."""
    if not database.exists():
        return None
    # Not read-only: on a database in WAL mode that no one has open, a read-only connection
    # would leave -wal and -shm files behind; the last ordinary one removes them.
    connection = sqlite3.connect(database, timeout=30)
    try:
        row = connection.execute("SELECT 1 FROM sqlite_master WHERE name='schema_migration'").fetchone()
        if row is None:
            return 0
        return connection.execute('SELECT MAX("version") FROM "schema_migration"').fetchone()[0] or 0
    finally:
        connection.close()
        _owned_like_folder(database)


def take_snapshot(database: Path) -> tuple[Path, int] | None:
    """An online copy of the database beside it (SQLite backup API); its path and schema."""
    from appliance.backup import snapshot_database

    if not database.exists():
        return None
    target = database.with_name(SNAPSHOT)
    partial = database.with_name(f".{SNAPSHOT}.tmp-{os.getpid()}")
    partial.unlink(missing_ok=True)
    schema = snapshot_database(database, partial)
    os.chmod(partial, 0o600)
    os.replace(partial, target)
    _owned_like_folder(database, target)
    log.info("database snapshot %s (schema %d)", target, schema)
    return target, schema


def _drop_snapshot(snapshot: tuple[Path, int] | None) -> None:
    """The snapshot holds personal data: it lives only as long as a rollback may need it."""
    if snapshot is not None:
        snapshot[0].unlink(missing_ok=True)
        log.info("database snapshot removed")


def restore_snapshot(snapshot: Path, database: Path) -> None:
    """Copy the snapshot back into the live database through SQLite's own locking."""
    source = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    target = sqlite3.connect(database, timeout=60)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
        _owned_like_folder(database)


def _owned_like_folder(database: Path, *more: Path) -> None:
    """Run as root, SQLite may create files beside the database: give them to its owner."""
    if os.geteuid() != 0:
        return
    owner = database.parent.stat()
    names = [Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    for path in [*names, *more]:
        if path.exists() and (path.stat().st_uid, path.stat().st_gid) != (owner.st_uid, owner.st_gid):
            os.chown(path, owner.st_uid, owner.st_gid)
