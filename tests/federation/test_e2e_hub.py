"""End to end with the real hub process: `epn hub serve`, `epn hub add-epn`, `epn enrol`,
`epn report build`, `epn push`. The hub down for a "week" then back; the appliance killed
(SIGKILL) while building and while the hub holds its answer (a small proxy in front of the
real hub keeps the answer back after the hub has stored the report). Afterwards the hub's
count of accepted reports equals the count of reports built: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.conftest import EPN, free_port
from tests.federation.conftest import PROCESS_SETTINGS
from tests.federation.test_kill import (
    check_outbox_is_whole,
    fill_visits,
    outbox_size,
    start,
    wait_for,
)

pytestmark = pytest.mark.system


def epn(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([EPN, *args], capture_output=True, text=True, timeout=timeout)


class RealHub:
    """`epn hub serve` on a free port, which can be stopped and started again."""

    def __init__(self, directory: Path) -> None:
        self.data = directory
        directory.mkdir()
        (directory / "config.yaml").write_text("hub:\n  name: brussels\n", encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> RealHub:
        with open(self.data / "hub.log", "ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [EPN, "hub", "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "EPN_DATA": str(self.data)})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.data / "hub.log").read_text(errors="replace")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("epn hub serve did not answer within 20 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def add_epn(self) -> str:
        result = epn("hub", "add-epn", "--name", "EPN Saint-Gilles", "--commune", "21013",
                     "--postal-code", "1060", "--data", str(self.data))
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    def accepted(self) -> list[tuple[int, str]]:
        """(sequence, period) of every report the hub accepted, in the order it did."""
        with sqlite3.connect(self.data / "hub.sqlite3", timeout=5) as db:
            return db.execute("SELECT sequence, period FROM hub_ingest_log ORDER BY id").fetchall()


class HoldingProxy:
    """Forwards to the hub; while `hold` is set, keeps the hub's answer back.
    `forwarded` counts the reports the hub has answered."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.hold = threading.Event()
        self.release = threading.Event()
        self.forwarded = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith(("epn-", "content-type"))}
        answer = requests.post(self.target + request.path, data=request.get_data(), headers=headers, timeout=10)
        if request.path == "/api/v1/reports":
            self.forwarded += 1
        if self.hold.is_set():
            self.release.wait(30)
        return Response(answer.content, status=answer.status_code,
                        content_type=answer.headers.get("Content-Type"))(environ, start_response)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RealHub]:
    real = RealHub(tmp_path / "hub").start()
    yield real
    real.stop()


def new_appliance(tmp_path: Path, hub_url: str, token: str) -> str:
    data = tmp_path / "appliance"
    assert epn("init", "--data", str(data), "--name", "EPN E2E").returncode == 0
    with open(data / "config.yaml", "a", encoding="utf-8") as handle:
        handle.write(PROCESS_SETTINGS)
    enrolled = epn("enrol", hub_url, token, "--data", str(data))
    assert enrolled.returncode == 0, enrolled.stderr
    return str(data)


def test_enrol_build_and_push_to_the_real_hub(tmp_path: Path, hub: RealHub):
    data = new_appliance(tmp_path, hub.url, hub.add_epn())
    built = epn("report", "build", "--from", "2026-W40", "--to", "2026-W42", "--data", data)
    assert built.returncode == 0, built.stderr
    month = epn("report", "build", "--period", "2026-10", "--data", data)
    assert month.returncode == 0, month.stderr
    pushed = epn("push", "--data", data)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == "sent 4, parked 0, waiting 0"
    assert hub.accepted() == [(1, "2026-W40"), (2, "2026-W41"), (3, "2026-W42"), (4, "2026-10")]
    again = epn("push", "--data", data)
    assert again.stdout.strip() == "sent 0, parked 0, waiting 0"


def test_the_real_hub_down_for_a_week_then_back_gets_everything_once_in_order(tmp_path: Path, hub: RealHub):
    data = new_appliance(tmp_path, hub.url, hub.add_epn())
    hub.stop()
    periods = ["2026-W41", "2026-W42", "2026-10", "2026-W43", "2026-W44", "2026-W45"]
    for period in periods:  # one build a "day", and each day's push fails
        assert epn("report", "build", "--period", period, "--data", data).returncode == 0
        failed = epn("push", "--data", data)
        assert failed.returncode == 1 and "cannot connect" in failed.stderr
    hub.start()
    pushed = epn("push", "--data", data)
    assert pushed.returncode == 0, pushed.stderr
    assert hub.accepted() == list(enumerate(periods, start=1))


def test_killed_while_building_then_pushed_the_hub_counts_each_report_once(tmp_path: Path, hub: RealHub):
    data = new_appliance(tmp_path, hub.url, hub.add_epn())
    fill_visits(Path(data), date(2025, 1, 1), 700)
    build_args = ["report", "build", "--from", "2025-W01", "--to", "2026-W45", "--data", data]
    for wanted in (5, 40):
        process = start(*build_args)
        wait_for(lambda p=process, w=wanted: outbox_size(Path(data)) >= w or p.poll() is not None)
        process.send_signal(signal.SIGKILL)
        process.wait()
        check_outbox_is_whole(Path(data))
    assert epn(*build_args).returncode == 0
    rows = check_outbox_is_whole(Path(data))
    assert len(rows) == 52 + 45
    assert epn("push", "--data", data).returncode == 0
    assert [sequence for sequence, _ in hub.accepted()] == [r.sequence for r in rows]


def test_killed_while_the_hub_holds_its_answer_nothing_is_lost_or_counted_twice(tmp_path: Path, hub: RealHub):
    proxy = HoldingProxy(hub.url)
    try:
        data = new_appliance(tmp_path, proxy.url, hub.add_epn())
        assert epn("report", "build", "--from", "2026-W40", "--to", "2026-W43", "--data", data).returncode == 0
        proxy.hold.set()
        process = start("push", "--data", data)
        wait_for(lambda: proxy.forwarded >= 1)  # the hub has stored report 1; its answer waits
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert hub.accepted() == [(1, "2026-W40")]
        proxy.hold.clear()
        proxy.release.set()
        again = epn("push", "--data", data)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "sent 4, parked 0, waiting 0"  # the first as a duplicate
        assert [s for s, _ in hub.accepted()] == [1, 2, 3, 4]
        rows = check_outbox_is_whole(Path(data))
        assert [r.http_status for r in rows] == [200, 201, 201, 201]
    finally:
        proxy.stop()


def test_revoked_on_the_hub_then_enrolled_again_with_a_new_key(tmp_path: Path, hub: RealHub):
    token = hub.add_epn()
    data = new_appliance(tmp_path, hub.url, token)
    epn_id = sqlite3.connect(hub.data / "hub.sqlite3").execute("SELECT id FROM hub_epn").fetchone()[0]
    key_id = sqlite3.connect(Path(data) / "epn.sqlite3").execute("SELECT key_id FROM federation_link").fetchone()[0]
    assert epn("report", "build", "--period", "2026-W40", "--data", data).returncode == 0
    assert epn("hub", "revoke-key", key_id, "--data", str(hub.data)).returncode == 0
    refused = epn("push", "--data", data)
    assert refused.returncode == 1 and "enrol again" in refused.stderr
    fresh = epn("hub", "enrol-token", epn_id, "--data", str(hub.data)).stdout.strip().splitlines()[-1]
    assert "--new-key" in epn("enrol", hub.url, fresh, "--data", data).stderr
    enrolled = epn("enrol", "--new-key", hub.url, fresh, "--data", data)
    assert enrolled.returncode == 0, enrolled.stderr
    assert epn("report", "build", "--period", "2026-W40", "--data", data).returncode == 0
    pushed = epn("push", "--data", data)
    assert pushed.returncode == 0 and pushed.stdout.strip() == "sent 1, parked 0, waiting 0"
    assert hub.accepted() == [(2, "2026-W40")]


def test_key_rotation_with_the_real_hub(tmp_path: Path, hub: RealHub):
    data = new_appliance(tmp_path, hub.url, hub.add_epn())
    assert epn("report", "build", "--period", "2026-W40", "--data", data).returncode == 0
    assert "run `epn push` first" in epn("key", "rotate", "--data", data).stderr
    assert epn("push", "--data", data).returncode == 0
    rotated = epn("key", "rotate", "--data", data)
    assert rotated.returncode == 0, rotated.stderr
    new_id = rotated.stdout.strip().splitlines()[-1]
    assert epn("report", "build", "--period", "2026-W41", "--data", data).returncode == 0
    assert epn("push", "--data", data).returncode == 0
    with sqlite3.connect(hub.data / "hub.sqlite3") as db:
        assert db.execute("SELECT key_id FROM hub_report WHERE period = '2026-W41'").fetchone() == (new_id,)
    assert hub.accepted() == [(1, "2026-W40"), (2, "2026-W41")]
