"""Everything `epn update` refuses, it refuses in one line with nothing changed: not
under PREFIX, not in the data directory, and the running release keeps running."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from appliance.federation.keys import REPORT_CONTEXT, load_key, sign
from tests.conftest import EPN, free_port
from tests.update.conftest import ARCH, make_site, public_key, run_update, tree


@pytest.fixture
def site(release_keys, tmp_path):  # type: ignore[no-untyped-def]
    """An appliance on release 0.1.0 that trusts the test release key (no server needed:
    a refused update never restarts anything)."""
    return make_site(tmp_path / "site", [public_key(release_keys["trusted"])])


def copy_release(releases: dict, tmp_path: Path, name: str = "good") -> Path:
    folder = tmp_path / f"copy-{name}"
    shutil.copytree(releases[name], folder)
    return folder


def tar_of(folder: Path) -> Path:
    return next(folder.glob("epn-*.tar"))


def edit_index(folder: Path, **changes: object) -> None:
    path = folder / f"latest-{ARCH}.json"
    index = json.loads(path.read_text())
    path.write_text(json.dumps({**index, **changes}))


def flip_a_byte(tar: Path) -> None:
    data = bytearray(tar.read_bytes())
    data[len(data) // 2] ^= 0x01
    tar.write_bytes(bytes(data))


def assert_refused(site: dict, result: subprocess.CompletedProcess, fragment: str,
                   before: dict[str, dict[str, str]]) -> None:
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], lines
    assert {"prefix": tree(site["prefix"]), "data": tree(site["data"])} == before


def snapshot(site: dict) -> dict[str, dict[str, str]]:
    return {"prefix": tree(site["prefix"]), "data": tree(site["data"])}


def test_a_release_whose_bytes_differ_from_the_index_is_refused(site, releases, tmp_path):
    folder = copy_release(releases, tmp_path)
    flip_a_byte(tar_of(folder))
    before = snapshot(site)
    assert_refused(site, run_update(site, "--from", str(folder)), "SHA-256 differs from the index", before)


def test_a_tampered_release_with_a_matching_index_fails_the_signature(site, releases, tmp_path):
    from appliance.update.bundle import sha256_file

    folder = copy_release(releases, tmp_path)
    flip_a_byte(tar_of(folder))
    edit_index(folder, sha256=sha256_file(tar_of(folder)))
    before = snapshot(site)
    assert_refused(site, run_update(site, "--from", str(folder)),
                   "signature does not match any key of update.trusted_keys", before)


def test_a_release_signed_by_an_unknown_key_is_refused(site, releases):
    before = snapshot(site)
    assert_refused(site, run_update(site, "--from", str(releases["stranger"])),
                   "signature does not match any key", before)


def test_a_report_signature_by_the_trusted_key_never_passes_for_a_release(site, releases, release_keys, tmp_path):
    folder = copy_release(releases, tmp_path)
    body = tar_of(folder).read_bytes()
    edit_index(folder, signature=sign(load_key(release_keys["trusted"]), REPORT_CONTEXT, body))
    before = snapshot(site)
    assert_refused(site, run_update(site, "--from", str(folder)), "signature does not match", before)


def test_a_release_for_another_arch_is_refused(site, releases, tmp_path):
    folder = copy_release(releases, tmp_path)
    index = folder / f"latest-{ARCH}.json"
    edit_index(folder, arch="aarch64" if ARCH == "x86_64" else "x86_64")
    before = snapshot(site)
    assert_refused(site, run_update(site, "--from", str(index)), f"this machine is {ARCH}", before)


def test_an_older_release_is_refused_unless_asked_for(site, releases):
    (site["prefix"] / "releases" / "0.2.0").mkdir()
    os.replace(site["prefix"] / "current", site["prefix"] / "old-current")
    os.symlink("releases/0.2.0", site["prefix"] / "current")
    before = snapshot(site)
    assert_refused(site, run_update(site, "--from", str(releases["good"])),
                   "0.1.1 is older than the installed 0.2.0; use --allow-downgrade", before)
    result = run_update(site, "--check", "--allow-downgrade", "--from", str(releases["good"]))
    assert result.returncode == 0, result.stderr


def test_a_release_that_cannot_read_the_database_schema_is_refused(site, releases):
    with sqlite3.connect(site["data"] / "epn.sqlite3") as connection:
        connection.execute("INSERT INTO schema_migration (version, name, applied_at) "
                           "VALUES (99, 'from the future', '2026-11-22')")
    connection.close()
    before = snapshot(site)
    assert_refused(site, run_update(site, "--from", str(releases["good"])),
                   "the database is at 99; refused", before)


def test_no_trusted_key_means_no_release_is_trusted(releases, tmp_path):
    site = make_site(tmp_path / "site", [])
    before = snapshot(site)
    assert_refused(site, run_update(site, "--from", str(releases["good"])),
                   "update.trusted_keys is empty", before)


def test_a_second_update_is_refused_while_one_runs(site, releases):
    lock = site["prefix"] / ".update.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        before = snapshot(site)
        assert_refused(site, run_update(site, "--from", str(releases["good"])),
                       "another update is running", before)
    finally:
        os.close(fd)


def test_check_verifies_a_release_file_and_its_signature_without_installing(site, releases):
    before = snapshot(site)
    result = run_update(site, "--check", "--from", str(tar_of(releases["good"])))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0.1.1 is available and verified (installed: 0.1.0)"
    assert snapshot(site) == before


def test_the_release_server_can_be_a_web_address(site, releases):
    """The index and the release come over HTTP from a real web server; logs name its host only."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(releases["good"])],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        result = run_update(site, "--check", "--from", f"http://127.0.0.1:{port}/")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0.1.1 is available and verified (installed: 0.1.0)"
    assert f"reading the release index http://127.0.0.1:{port}\n" in result.stdout


def test_the_timer_does_nothing_where_no_update_url_is_set(tmp_path):
    data = tmp_path / "data"
    subprocess.run([EPN, "init", "--data", str(data), "--name", "X"], check=True, capture_output=True)
    env = {**os.environ, "EPN_DATA": str(data)}
    quiet = subprocess.run([EPN, "update", "--if-configured",
                            "--prefix", str(tmp_path / "opt")], capture_output=True, text=True, env=env)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert not (tmp_path / "opt").exists()
    asked = subprocess.run([EPN, "update"],
                           capture_output=True, text=True, env=env)
    assert asked.returncode == 1
    assert asked.stderr.strip() == "Error: update.url is empty: set it in config.yaml, or give --from"
