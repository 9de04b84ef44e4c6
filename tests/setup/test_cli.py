"""`epn setup start|code|status`, as the image and its boot unit run them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from appliance.setup.code import check_code
from appliance.setup.finish import _done
from appliance.setup.state import state_path
from tests.conftest import EPN


def epn(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EPN, "setup", *args], capture_output=True, text=True, timeout=60, check=False)


def last_line(result: subprocess.CompletedProcess) -> str:
    return result.stdout.strip().splitlines()[-1]


def test_start_makes_a_data_directory_with_setup_pending_and_is_idempotent(tmp_path: Path):
    data = tmp_path / "fresh"
    first = epn("start", "--data", str(data))
    assert first.returncode == 0, first.stderr
    assert last_line(first) == "setup pending"
    assert (data / "epn.sqlite3").exists() and (data / "secret_key").exists()
    assert (data / "keys" / "report_key.pem").exists()
    assert "name: EPN" in (data / "config.yaml").read_text()
    again = epn("start", "--data", str(data))
    assert again.returncode == 0 and last_line(again) == "setup pending"
    assert last_line(epn("status", "--data", str(data))) == "pending"


def test_start_keeps_an_existing_configuration(data_dir: Path):
    before = (data_dir / "config.yaml").read_text()
    assert last_line(epn("start", "--data", str(data_dir))) == "setup pending"
    assert (data_dir / "config.yaml").read_text() == before


def test_a_data_directory_without_setup_state_needs_no_setup(data_dir: Path):
    assert last_line(epn("status", "--data", str(data_dir))) == "done"
    result = epn("code", "--data", str(data_dir))
    assert result.returncode == 0 and last_line(result) == "setup already done"


def test_status_of_a_folder_that_is_no_appliance_fails_in_one_line(tmp_path: Path):
    result = epn("status", "--data", str(tmp_path / "nothing"))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "no appliance data" in result.stderr


def test_code_prints_a_new_code_stores_only_its_hash_and_writes_the_issue_file(tmp_path: Path):
    data, issue = tmp_path / "data", tmp_path / "issue.d" / "epn-setup.issue"
    epn("start", "--data", str(data))
    made = epn("code", "--data", str(data), "--issue-file", str(issue))
    assert made.returncode == 0, made.stderr
    code = last_line(made)
    assert len(code) == 9 and code[4] == "-"
    assert "/setup/" in made.stdout
    stored = state_path(data).read_text()
    assert code not in stored and code.replace("-", "") not in stored
    assert json.loads(stored)["code"]["hash"]
    text = issue.read_text()
    assert code in text and "http://\\4:8080/setup/" in text
    assert check_code(data, code.lower(), "test").claim


def test_a_new_code_ends_the_previous_one(tmp_path: Path):
    data = tmp_path / "data"
    epn("start", "--data", str(data))
    old = last_line(epn("code", "--data", str(data)))
    new = last_line(epn("code", "--data", str(data)))
    assert old != new
    assert check_code(data, old, "test").claim is None
    assert check_code(data, new, "test").claim


def test_once_done_code_says_so_and_removes_the_issue_file(tmp_path: Path):
    data, issue = tmp_path / "data", tmp_path / "epn-setup.issue"
    epn("start", "--data", str(data))
    code = last_line(epn("code", "--data", str(data), "--issue-file", str(issue)))
    with open(state_path(data)) as handle:
        state = json.load(handle)
    state["job"] = {"steps": {}}
    state_path(data).write_text(json.dumps(state))
    _done(data, {}, state)  # the wizard's last step
    assert not issue.exists()
    assert last_line(epn("status", "--data", str(data))) == "done"
    issue.write_text("left from an earlier boot")
    result = epn("code", "--data", str(data), "--issue-file", str(issue))
    assert result.returncode == 0 and last_line(result) == "setup already done"
    assert not issue.exists()
    assert code not in state_path(data).read_text()
    assert last_line(epn("start", "--data", str(data))) == "setup already done"


def test_skip_marks_setup_done_without_the_wizard_for_a_restored_appliance(tmp_path: Path):
    data, issue = tmp_path / "data", tmp_path / "epn-setup.issue"
    epn("start", "--data", str(data))
    epn("code", "--data", str(data), "--issue-file", str(issue))
    skipped = epn("skip", "--data", str(data))
    assert skipped.returncode == 0 and last_line(skipped) == "setup done"
    assert not issue.exists()
    assert last_line(epn("status", "--data", str(data))) == "done"
    assert "code" not in json.loads(state_path(data).read_text())


def test_restoring_a_backup_onto_a_new_card_closes_the_pending_setup(data_dir: Path, tmp_path: Path):
    """A new SD card starts with setup pending; the backup brings a configured EPN."""
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a long enough backup passphrase\n")
    backup = tmp_path / "old.epnbak"
    made = subprocess.run([EPN, "backup", "--data", str(data_dir), str(backup), "--passphrase-file", str(passphrase)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    new_card, issue = tmp_path / "new-card", tmp_path / "epn-setup.issue"
    epn("start", "--data", str(new_card))
    epn("code", "--data", str(new_card), "--issue-file", str(issue))
    assert last_line(epn("status", "--data", str(new_card))) == "pending"

    restored = subprocess.run([EPN, "restore", "--data", str(new_card), str(backup), "--passphrase-file", str(passphrase)],
                              capture_output=True, text=True, timeout=120, check=False)
    assert restored.returncode == 0, restored.stderr
    assert "first-boot setup closed" in restored.stdout
    assert last_line(epn("status", "--data", str(new_card))) == "done"
    assert not issue.exists()
    assert "EPN Test" in (new_card / "config.yaml").read_text()
