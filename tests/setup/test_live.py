"""Against a real `epn serve` with two workers: the wizard walked over HTTP, then each
worker, and a worker forked afterwards from the master's app, serves the new name."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import CSRF, LiveServer
from tests.setup.conftest import NEW_ACCOUNT, NEW_SITE, NEW_WIFI, mark_pending

pytestmark = pytest.mark.system


@pytest.fixture
def pending_server(data_dir: Path, tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    code = mark_pending(data_dir)
    server = LiveServer(data_dir, tmp_path / "serve.log", workers=2)
    try:
        yield server, code
    finally:
        for pid in workers(server):  # none may stay stopped
            os.kill(pid, signal.SIGCONT)
        server.stop()


def workers(server: LiveServer) -> list[int]:
    """The gunicorn workers: the children of the `epn serve` process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == server.process.pid:
                found.append(int(entry.name))
    return sorted(found)


def post_form(session: requests.Session, url: str, data: dict) -> requests.Response:
    token = CSRF.search(session.get(url).text).group(1)
    return session.post(url, data={"csrf_token": token, **data}, allow_redirects=False)


def walk_the_wizard(server: LiveServer, code: str) -> None:
    session = requests.Session()
    assert session.get(server.url + "/staff/", allow_redirects=False).headers["Location"].endswith("/setup/")
    assert post_form(session, server.url + "/setup/", {"code": code}).status_code == 302
    for path, data in (("site", NEW_SITE), ("wifi", NEW_WIFI), ("account", NEW_ACCOUNT), ("hub", {"action": "skip"})):
        response = post_form(session, f"{server.url}/setup/{path}", data)
        assert response.status_code == 302, (path, response.text[:1000])
    assert post_form(session, server.url + "/setup/review", {}).status_code == 302
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = session.get(server.url + "/setup/progress", allow_redirects=False)
        if response.status_code == 302:
            assert response.headers["Location"].endswith("/staff/login")
            return
        assert "Échec" not in response.text, response.text
        time.sleep(0.2)
    raise AssertionError("the wizard did not finish: " + server.log()[-2000:])


def brand_served_by(server: LiveServer, pid: int) -> str:
    """The name in the page header as served by worker `pid` alone (the others stopped)."""
    others = [other for other in workers(server) if other != pid]
    for other in others:
        os.kill(other, signal.SIGSTOP)
    try:
        html = requests.get(server.url + "/staff/login", headers={"Connection": "close"}, timeout=10).text
    finally:
        for other in others:
            os.kill(other, signal.SIGCONT)
    return re.search(r'<div class="brand">([^<]*)</div>', html).group(1)


def both_workers(server: LiveServer) -> list[int]:
    """The two workers, once gunicorn has forked both (the first may answer before)."""
    deadline = time.monotonic() + 20
    while len(found := workers(server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(found) == 2, found
    return found


def test_after_the_wizard_every_worker_serves_the_new_name(pending_server):
    server, code = pending_server
    before = both_workers(server)
    walk_the_wizard(server, code)
    for pid in before:
        assert brand_served_by(server, pid) == NEW_SITE["name"], pid
    # A worker forked later, from the master's app of before the wizard, too.
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and before[0] in workers(server):
        time.sleep(0.1)
    (newcomer,) = set(both_workers(server)) - set(before)
    assert brand_served_by(server, newcomer) == NEW_SITE["name"]
    assert "settings reloaded" in server.log()
