"""No report on a clock that may be wrong: the real check's sources, the fake, the gate."""

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.config import load_config
from appliance.federation.report import ClockNotSynchronised, build_due, build_report
from appliance.hardware.clock import FakeClock, SystemClock, chrony_synchronised, clock_for
from appliance.models import FederationLink, OutboxReport
from appliance.period import Period
from tests.federation.conftest import NOW, add_visits

CHRONY_SYNCED = "Reference ID    : C0A80001 (ntp.example)\nStratum         : 3\nLeap status     : Normal\n"
CHRONY_UNSYNCED = "Reference ID    : 00000000 ()\nStratum         : 0\nLeap status     : Not synchronised\n"


def runner(answers: dict[str, str | None]):  # type: ignore[no-untyped-def]
    calls = []

    def run(args: list[str]) -> str | None:
        calls.append(args[0])
        return answers.get(args[0])

    run.calls = calls  # type: ignore[attr-defined]
    return run


def test_the_timesyncd_flag_file_is_enough(tmp_path: Path):
    flag = tmp_path / "synchronized"
    flag.touch()
    run = runner({})
    status = SystemClock(flag, run).status()
    assert status.synchronised and status.source == "systemd-timesyncd" and run.calls == []


@pytest.mark.parametrize("answers, synchronised, source", [
    ({"timedatectl": "yes\n"}, True, "timedatectl"),
    ({"timedatectl": "no\n", "chronyc": CHRONY_SYNCED}, True, "chronyc"),
    ({"timedatectl": "no\n", "chronyc": CHRONY_UNSYNCED}, False, None),
    ({"timedatectl": None, "chronyc": None}, False, None),  # neither installed nor answering
])
def test_timedatectl_then_chrony_are_asked(tmp_path: Path, answers, synchronised, source):
    status = SystemClock(tmp_path / "absent", runner(answers)).status()
    assert status.synchronised is synchronised
    if source:
        assert status.source == source
    else:
        assert "synchronised" in status.source


def test_chrony_leap_status_is_parsed_line_by_line():
    assert chrony_synchronised(CHRONY_SYNCED)
    assert not chrony_synchronised(CHRONY_UNSYNCED)
    assert not chrony_synchronised("garbage")


def test_a_missing_command_counts_as_no_answer(tmp_path: Path):
    from appliance.hardware.clock import run_command

    assert run_command(["/nonexistent/timedatectl"]) is None


def test_the_configuration_chooses_the_real_check_or_trusts_the_clock(data_dir: Path):
    assert isinstance(clock_for(load_config(data_dir, environ={})), SystemClock)
    trusting = load_config(data_dir, environ={"EPN_FEDERATION_REQUIRE_CLOCK_SYNC": "false"})
    assert clock_for(trusting).status().synchronised


def test_no_report_is_built_before_the_clock_is_synchronised(linked, config):
    add_visits(date(2026, 9, 29), 4)
    with pytest.raises(ClockNotSynchronised, match="not synchronised"):
        build_report(Period.parse("2026-W40"), config, now=NOW, clock=FakeClock(False))
    assert OutboxReport.select().count() == 0
    assert FederationLink.get().next_sequence == 1


def test_the_daily_pass_waits_for_the_clock_and_runs_once_it_is_set(linked, config):
    with pytest.raises(ClockNotSynchronised):
        build_due(config, now=NOW, clock=FakeClock(False))
    assert FederationLink.get().built_on is None  # the pass is not marked done
    assert build_due(config, now=NOW, clock=FakeClock(True))
    assert FederationLink.get().built_on == date(2026, 10, 13)


def test_report_build_exits_non_zero_with_one_line_unless_the_clock_is_trusted(linked, config):
    args = ["report", "build", "--data", str(config.data_dir), "--period", "2026-W40"]
    refused = CliRunner().invoke(cli, args, obj={"clock": FakeClock(False, "test clock")})
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == [(
        "Error: the system clock is not synchronised (test clock); no report is built until it "
        "is (or pass --trust-clock if the date and time are right)")]
    trusted = CliRunner().invoke(cli, args + ["--trust-clock"], obj={"clock": FakeClock(False)})
    assert trusted.exit_code == 0, trusted.output
    assert OutboxReport.select().count() == 1
    assert trusted.output.strip().splitlines()[-1] == OutboxReport.get().report_id
