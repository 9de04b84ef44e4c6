"""`epn enrol`, `epn report build`, `epn push`, `epn key rotate` as operators run them:
help everywhere, the identifier on the last line, one-line errors."""

import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import EPN, free_port
from tests.federation.conftest import PROCESS_SETTINGS
from tests.federation.fakehub import FakeHub

COMMANDS = [["enrol"], ["report"], ["report", "build"], ["push"], ["key"], ["key", "rotate"]]


def epn(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([EPN, *args], capture_output=True, text=True, timeout=timeout)


def enrol(appliance: str, hub: FakeHub) -> None:
    result = epn("enrol", hub.url, hub.add_epn("epn-7"), "--data", appliance)
    assert result.returncode == 0, result.stderr


def check_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert fragment in lines[0], lines[0]


@pytest.fixture
def appliance(tmp_path: Path) -> str:
    """A data directory made by `epn init`, with a trusted clock."""
    data = tmp_path / "appliance"
    assert epn("init", "--data", str(data), "--name", "EPN CLI").returncode == 0
    with open(data / "config.yaml", "a", encoding="utf-8") as handle:
        handle.write(PROCESS_SETTINGS)
    return str(data)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_federation_command_has_help(command):
    result = epn(*command, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout
    if command[-1] not in ("report", "key"):
        assert "--data" in result.stdout


def test_enrol_build_and_push_as_an_operator_would(appliance, hub: FakeHub):
    enrolled = epn("enrol", hub.url, hub.add_epn("epn-7"), "--data", appliance)
    assert enrolled.returncode == 0, enrolled.stderr
    lines = enrolled.stdout.strip().splitlines()
    assert lines[-1] == "epn-7"
    hub_line = next(line for line in lines if "registered by the hub" in line)
    local_line = next(line for line in lines if "of this appliance" in line)
    assert hub_line.split(":")[1].strip() == local_line.split(":")[1].strip()
    built = epn("report", "build", "--period", "2026-W40", "--data", appliance)
    assert built.returncode == 0, built.stderr
    report_id = built.stdout.strip().splitlines()[-1]
    assert uuid.UUID(report_id).version == 4
    pushed = epn("push", "--data", appliance)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == "sent 1, parked 0, waiting 0"
    assert [b["report_id"] for b in hub.accepted] == [report_id]


@pytest.mark.parametrize("token", ["-sjBHP_iM5fhsLm", "-hXYZ_abc", "--abc-def"])
def test_a_token_that_starts_with_a_dash_is_still_the_token(appliance, hub: FakeHub, token):
    hub.tokens[token] = "epn-7"  # URL-safe base64 may start with "-"
    result = epn("enrol", hub.url, token, "--data", appliance)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "epn-7"


def test_a_range_builds_each_period_and_prints_the_last_report_id(appliance, hub: FakeHub):
    enrol(appliance, hub)
    built = epn("report", "build", "--from", "2026-W38", "--to", "2026-W40", "--data", appliance)
    assert built.returncode == 0, built.stderr
    lines = built.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["2026-W38", "2026-W39", "2026-W40"]
    epn("push", "--data", appliance)
    assert hub.accepted[-1]["report_id"] == lines[-1]
    assert hub.accepted_sequences() == [1, 2, 3]


def test_building_again_changes_nothing_unless_forced(appliance, hub: FakeHub):
    enrol(appliance, hub)
    first = epn("report", "build", "--period", "2026-W40", "--data", appliance).stdout.strip().splitlines()
    again = epn("report", "build", "--period", "2026-W40", "--data", appliance).stdout.strip().splitlines()
    assert again == ["2026-W40: unchanged since report 1; nothing queued", first[-1]]
    forced = epn("report", "build", "--period", "2026-W40", "--force", "--data", appliance)
    assert forced.stdout.startswith("2026-W40: report 2 queued")
    assert epn("push", "--data", appliance).stdout.strip() == "sent 2, parked 0, waiting 0"
    assert [b["sequence"] for b in hub.accepted] == [1, 2]


def test_push_with_the_hub_down_exits_non_zero_with_one_line(appliance, hub: FakeHub):
    enrol(appliance, hub)
    epn("report", "build", "--period", "2026-W40", "--data", appliance)
    hub.stop()
    check_one_line_error(epn("push", "--data", appliance), "waiting 1 (")


def test_key_rotate_prints_the_new_key_id_last(appliance, hub: FakeHub):
    enrol(appliance, hub)
    rotated = epn("key", "rotate", "--data", appliance)
    assert rotated.returncode == 0, rotated.stderr
    new_id = rotated.stdout.strip().splitlines()[-1]
    assert new_id in hub.keys and len(new_id) == 16


@pytest.mark.parametrize("args, fragment", [
    (["report", "build", "--period", "2026-W40"], "not enrolled"),
    (["push"], "not enrolled"),
    (["key", "rotate"], "not enrolled"),
    (["report", "build"], "--period"),
    (["report", "build", "--period", "2026-W40", "--from", "2026-W01", "--to", "2026-W02"], "either --period"),
    (["report", "build", "--period", "2026-W99"], "does not exist"),
    (["report", "build", "--from", "2026-W01", "--to", "2026-02"], "same kind"),
    (["report", "build", "--period", "2999"], "not over yet"),
    (["enrol", "ftp://hub.example", "token"], "https://"),
    (["enrol", "http://127.0.0.1:{port}", "token"], "did not answer"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(appliance, args, fragment):
    if "2999" in args:
        # Enrolled (stored directly) so that the period check is what refuses.
        from appliance.db import database, init_database
        from appliance.federation import keys
        from appliance.models import FederationLink

        init_database(Path(appliance) / "epn.sqlite3")
        with database.connection_context():
            public = keys.public_bytes(keys.ensure_key(Path(appliance)))
            FederationLink.create(hub_url="http://127.0.0.1:9", hub_id="h", epn_id="e", key_id=keys.key_id(public))
    args = [arg.format(port=free_port()) for arg in args]
    check_one_line_error(epn(*args, "--data", appliance), fragment)


def test_a_data_directory_that_does_not_exist_is_one_line(tmp_path: Path):
    check_one_line_error(epn("push", "--data", str(tmp_path / "nowhere")), "epn init")
