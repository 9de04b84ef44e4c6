"""The `epn` command: help everywhere, scriptable output, one-line errors."""

import subprocess

import pytest

from appliance.db import database, init_database
from appliance.models import StaffUser
from tests.conftest import EPN

SUBCOMMANDS = [[], ["init"], ["serve"], ["worker"], ["demo"], ["user"], ["user", "add"], ["token"],
               ["token", "add"], ["import"], ["import", "visits"], ["purge"]]


def epn(*args, stdin=None, env=None):
    return subprocess.run([EPN, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=lambda c: " ".join(c) or "epn")
def test_every_command_has_help(command):
    result = epn(*command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    if command and command[-1] not in ("user", "token", "import"):
        assert "--data" in result.stdout or command == ["demo"] and "--data" in result.stdout


def test_init_creates_a_data_directory_and_normalises_the_municipality(tmp_path):
    result = epn("init", "--data", str(tmp_path / "d"), "--name", "EPN Molenbeek",
                 "--commune", "Sint-Jans-Molenbeek", "--postal-code", "1080")
    assert result.returncode == 0, result.stderr
    assert "commune: '21012'" in (tmp_path / "d" / "config.yaml").read_text()
    assert (tmp_path / "d" / "epn.sqlite3").exists()


def test_init_refuses_a_bad_value_in_one_line_and_creates_nothing(tmp_path):
    result = epn("init", "--data", str(tmp_path / "d"), "--name", "X", "--postal-code", "10800")
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "postal_code" in result.stderr
    assert not (tmp_path / "d").exists()


def test_user_add_reads_the_password_from_stdin_and_prints_the_username_last(data_dir):
    result = epn("user", "add", "amina", "--role", "mediator", "--data", str(data_dir),
                 stdin="a-long-enough-password\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "amina"
    init_database(data_dir / "epn.sqlite3")
    with database.connection_context():
        assert StaffUser.get(StaffUser.username == "amina").role == "mediator"


@pytest.mark.parametrize("args, stdin, fragment", [
    (["user", "add", "amina", "--role", "mediator"], "short\n", "password"),
    (["user", "add", "Bad Name!", "--role", "mediator"], "a-long-enough-password\n", "username"),
    (["user", "add", "mehdi", "--role", "mediator"], "a-long-enough-password\n", "already taken"),
    (["user", "add", "amina", "--role", "boss"], "a-long-enough-password\n", "boss"),
    (["token", "add", "--name", ""], None, "name"),
])
def test_bad_input_exits_non_zero_with_a_one_line_reason(data_dir, args, stdin, fragment):
    result = epn(*args, "--data", str(data_dir), stdin=stdin)
    assert result.returncode != 0
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_token_add_prints_the_secret_alone_on_the_last_line(data_dir):
    result = epn("token", "add", "--name", "kiosk", "--data", str(data_dir))
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[-1].startswith("epn_")


def test_a_missing_data_directory_is_named_in_the_error(tmp_path):
    result = epn("token", "add", "--name", "x", "--data", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and "epn init" in result.stderr


def test_the_data_directory_can_come_from_epn_data(data_dir):
    import os

    result = epn("token", "add", "--name", "env", env={**os.environ, "EPN_DATA": str(data_dir)})
    assert result.returncode == 0, result.stderr


def test_a_bad_setting_stops_the_command_with_the_key_named(data_dir):
    (data_dir / "config.yaml").write_text("server:\n  workers: lots\n")
    result = epn("purge", "--data", str(data_dir))
    assert result.returncode != 0
    assert "server.workers" in result.stderr and "'lots'" in result.stderr


def test_the_demo_is_created_once_and_running_it_again_keeps_it(tmp_path):
    first = epn("demo", "--data", str(tmp_path / "demo"), "--no-serve")
    second = epn("demo", "--data", str(tmp_path / "demo"), "--no-serve")
    assert first.returncode == second.returncode == 0
    assert "created" in first.stdout and "already" in second.stdout
    assert "sophie / demo-coordination" in second.stdout
    init_database(tmp_path / "demo" / "epn.sqlite3")
    with database.connection_context():
        assert StaffUser.select().count() == 2
