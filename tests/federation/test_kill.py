"""SIGKILL in the middle of building or pushing: after a restart nothing is lost and
nothing is counted twice by the hub (here the fake hub; test_e2e_hub.py does the same
against the real one)."""

import signal
import sqlite3
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from appliance.db import database, init_database
from appliance.federation import keys
from appliance.federation.canonical import is_canonical, parse_strict
from appliance.models import FederationLink, OutboxReport, Visit
from tests.conftest import EPN
from tests.federation.conftest import PROCESS_SETTINGS
from tests.federation.fakehub import FakeHub, Scripted

pytestmark = pytest.mark.system


def epn(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([EPN, *args], capture_output=True, text=True, timeout=timeout)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([EPN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def outbox_size(data: Path) -> int:
    with sqlite3.connect(f"file:{data / 'epn.sqlite3'}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT COUNT(*) FROM outbox_report").fetchone()[0]


@pytest.fixture
def appliance(tmp_path: Path, hub: FakeHub) -> Path:
    data = tmp_path / "appliance"
    assert epn("init", "--data", str(data), "--name", "EPN Kill").returncode == 0
    with open(data / "config.yaml", "a", encoding="utf-8") as handle:
        handle.write(PROCESS_SETTINGS)
    assert epn("enrol", hub.url, hub.add_epn("epn-7"), "--data", str(data)).returncode == 0
    return data


def fill_visits(data: Path, first: date, days: int, per_day: int = 75) -> None:
    init_database(data / "epn.sqlite3")
    with database.connection_context():
        rows = [{"day": first + timedelta(days=d), "hour": 9 + n % 9, "purpose": "job_search"}
                for d in range(days) for n in range(per_day)]
        with database.atomic():
            for start_at in range(0, len(rows), 5000):
                Visit.insert_many(rows[start_at:start_at + 5000]).execute()


def check_outbox_is_whole(data: Path) -> list[OutboxReport]:
    """Every row complete and signed; sequences 1..n without a gap; the counter after them."""
    init_database(data / "epn.sqlite3")
    with database.connection_context():
        rows = list(OutboxReport.select().order_by(OutboxReport.sequence))
        public = keys.ensure_key(data).public_key()
        assert [r.sequence for r in rows] == list(range(1, len(rows) + 1))
        assert FederationLink.get().next_sequence == len(rows) + 1
        for row in rows:
            body = bytes(row.body)
            assert is_canonical(body) and parse_strict(body)["sequence"] == row.sequence
            assert keys.verify(public, keys.REPORT_CONTEXT, body, row.signature)
    return rows


def test_killed_while_building_loses_nothing_and_duplicates_nothing(appliance: Path, hub: FakeHub):
    fill_visits(appliance, date(2024, 1, 1), 3 * 365)
    range_args = ["report", "build", "--from", "2024-W01", "--to", "2026-W45", "--data", str(appliance)]
    killed_at = []
    for wanted in (1, 25, 60):
        process = start(*range_args)
        target = wanted + sum(killed_at)
        wait_for(lambda p=process, t=target: outbox_size(appliance) >= t or p.poll() is not None)
        process.send_signal(signal.SIGKILL)
        process.wait()
        rows = check_outbox_is_whole(appliance)
        killed_at.append(len(rows) - sum(killed_at))
    assert 0 < len(rows) < 149  # the builds really were cut short
    finished = epn(*range_args)  # the same command again finishes the job
    assert finished.returncode == 0, finished.stderr
    assert "unchanged since report" in finished.stdout
    rows = check_outbox_is_whole(appliance)
    assert sorted(r.period for r in rows) == sorted({r.period for r in rows})
    assert len(rows) == 149  # 2024-W01 to 2026-W45, each period once
    pushed = epn("push", "--data", str(appliance))
    assert pushed.returncode == 0, pushed.stderr
    assert hub.accepted_sequences() == [r.sequence for r in rows]


def test_killed_while_the_hub_holds_its_answer_then_pushed_again_counts_once(appliance: Path, hub: FakeHub):
    assert epn("report", "build", "--from", "2026-W38", "--to", "2026-W40", "--data", str(appliance)).returncode == 0
    hub.hold.set()  # the hub stores the first report, then keeps its answer back
    process = start("push", "--data", str(appliance))
    wait_for(lambda: len(hub.accepted) == 1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    hub.hold.clear()
    hub.release.set()
    init_database(appliance / "epn.sqlite3")
    with database.connection_context():
        assert [r.status for r in OutboxReport.select().order_by(OutboxReport.sequence)] == ["pending"] * 3
    again = epn("push", "--data", str(appliance))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "sent 3, parked 0, waiting 0"
    assert hub.accepted_sequences() == [1, 2, 3]
    with database.connection_context():
        assert [r.http_status for r in OutboxReport.select().order_by(OutboxReport.sequence)] == [200, 201, 201]


def test_killed_before_the_hub_stored_anything_sends_it_later(appliance: Path, hub: FakeHub):
    assert epn("report", "build", "--period", "2026-W40", "--data", str(appliance)).returncode == 0
    hub.script.append(Scripted("hang"))
    process = start("push", "--data", str(appliance))
    wait_for(lambda: any(path == "/api/v1/reports" for path, _, _ in hub.received))
    process.send_signal(signal.SIGKILL)
    process.wait()
    hub.release.set()
    assert epn("push", "--data", str(appliance)).returncode == 0
    assert hub.accepted_sequences() == [1]
