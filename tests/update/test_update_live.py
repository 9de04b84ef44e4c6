"""`epn update` against a real server: a good release is installed and served, a broken
one is rolled back by itself (database included), and the timer does not retry it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
import requests

from appliance.migrations import LATEST
from tests.conftest import EPN
from tests.update.conftest import SUPERVISOR, make_site, public_key, run_update

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def site(releases, release_keys, tmp_path_factory):  # type: ignore[no-untyped-def]
    """An appliance serving release 0.1.0 under the test supervisor, with one staff account."""
    root = tmp_path_factory.mktemp("site")
    site = make_site(root, [public_key(release_keys["trusted"])], url=str(releases["good"]),
                     health_seconds=10)
    subprocess.run([EPN, "user", "add", "coline", "--role", "coordinator", "--data", str(site["data"])],
                   input="coordinator-pass-1\n", text=True, check=True, capture_output=True)
    supervise = [sys.executable, str(SUPERVISOR), "--state", str(site["state"]),
                 "--prefix", str(site["prefix"]), "--data", str(site["data"])]
    subprocess.run(supervise, check=True)
    site["url"] = f"http://127.0.0.1:{site['port']}"
    try:
        from appliance.update.apply import wait_healthy

        assert wait_healthy(site["url"] + "/healthz", 20)[0], (site["state"] / "serve.log").read_text()
        yield site
    finally:
        subprocess.run([*supervise, "--stop"], check=False)


def served_version(site: dict) -> str:
    return requests.get(site["url"] + "/api/v1/openapi.json", timeout=5).json()["info"]["version"]


def server_pid(site: dict) -> int:
    return int((site["state"] / "pid").read_text())


def points_to(site: dict, link: str) -> str:
    return os.readlink(site["prefix"] / link)


def database_schema(site: dict) -> int:
    with sqlite3.connect(site["data"] / "epn.sqlite3") as connection:
        return connection.execute("SELECT MAX(version) FROM schema_migration").fetchone()[0]


@pytest.fixture(scope="module")
def good_update(site):  # type: ignore[no-untyped-def]
    before = server_pid(site)
    result = run_update(site)
    return before, result


def test_a_signed_release_is_installed_switched_to_and_served(site, good_update):
    pid_before, result = good_update
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "updated 0.1.0 -> 0.1.1"
    assert points_to(site, "current") == "releases/0.1.1"
    assert points_to(site, "previous") == "releases/0.1.0"
    shown = subprocess.run([str(site["prefix"] / "current" / "bin" / "epn"), "--version"],
                           capture_output=True, text=True, check=True).stdout
    assert "0.1.1" in shown
    assert server_pid(site) != pid_before
    assert requests.get(site["url"] + "/healthz", timeout=5).status_code == 200
    assert served_version(site) == "0.1.1"
    for step in ("reading the release index", "signed by key", "installed 0.1.1",
                 "database snapshot", "current -> releases/0.1.1", "/healthz answered 200"):
        assert step in result.stdout, step
    # The snapshot (personal data) is gone once the new release answers.
    assert "database snapshot removed" in result.stdout
    assert not (site["data"] / "epn.sqlite3.before-update").exists()


@pytest.fixture(scope="module")
def broken_update(site, good_update, releases):  # type: ignore[no-untyped-def]
    return run_update(site, "--from", str(releases["broken"]))


def test_a_release_that_fails_its_health_check_is_rolled_back_with_its_database(site, broken_update):
    result = broken_update
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: 0.1.2 failed its health check (/healthz answered 500 for 10 s); rolled back to 0.1.1"]
    assert "database restored" in result.stdout
    assert points_to(site, "current") == "releases/0.1.1"
    assert not (site["prefix"] / "releases" / "0.1.2").exists()
    assert requests.get(site["url"] + "/healthz", timeout=5).status_code == 200
    assert served_version(site) == "0.1.1"
    # The broken release had migrated the database one step further: the snapshot is back.
    assert database_schema(site) == LATEST
    with sqlite3.connect(site["data"] / "epn.sqlite3") as connection:
        assert connection.execute("SELECT username FROM staff_user").fetchall() == [("coline",)]
    state = json.loads((site["prefix"] / "update-state.json").read_text())
    assert "500" in state["failed"]["0.1.2"]["reason"]


def test_the_timer_does_not_try_a_failed_release_again(site, releases, broken_update):
    pid = server_pid(site)
    result = run_update(site, "--if-configured", "--from", str(releases["broken"]))
    assert result.returncode == 0, result.stderr
    assert "not retried automatically" in result.stdout.splitlines()[-1]
    assert "downloading" not in result.stdout
    assert server_pid(site) == pid
    assert not (site["prefix"] / "releases" / "0.1.2").exists()


def test_an_update_cut_off_before_its_health_check_is_finished_by_the_next_run(site, broken_update):
    """A power cut right after the switch to a release whose server dies at start: the
    next run (the timer's) checks it, and goes back to the release before it."""
    from appliance.update.layout import Layout

    layout = Layout(site["prefix"])
    crashing = layout.release("0.1.3") / "bin" / "epn"
    crashing.parent.mkdir(parents=True)
    crashing.write_text("#!/bin/sh\necho 'cannot start' >&2\nexit 1\n")
    crashing.chmod(0o755)
    state = layout.read_state()
    state["pending"] = {"version": "0.1.3", "sha256": "0" * 64, "previous": "0.1.1",
                        "snapshot": None, "schema": None}
    layout.write_state(state)
    layout.point(layout.current, "0.1.3")
    result = run_update(site, "--if-configured")
    assert result.returncode == 1, result.stdout
    assert result.stderr.strip().splitlines() == [
        "Error: the interrupted update to 0.1.3 does not answer (/healthz did not answer for 10 s); "
        "rolled back to 0.1.1"]
    assert points_to(site, "current") == "releases/0.1.1"
    assert not layout.release("0.1.3").exists()
    assert "pending" not in layout.read_state()
    assert served_version(site) == "0.1.1"


def test_an_appliance_already_up_to_date_is_left_alone(site, good_update):
    pid = server_pid(site)
    result = run_update(site, "--if-configured")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "already up to date (0.1.1)"
    assert server_pid(site) == pid


def test_old_releases_are_pruned_but_never_the_current_or_previous_one(tmp_path):
    from appliance.update.layout import Layout

    layout = Layout(tmp_path)
    for version in ("0.1.0", "0.1.2", "0.1.10", "0.2.0", "0.3.0"):
        (layout.release(version) / "bin").mkdir(parents=True)
    (layout.releases / "not-a-version").mkdir()
    layout.point(layout.current, "0.2.0")
    layout.point(layout.previous, "0.1.0")
    assert layout.prune(3) == ["0.1.10", "0.1.2"]
    assert sorted(p.name for p in layout.releases.iterdir()) == ["0.1.0", "0.2.0", "0.3.0", "not-a-version"]

