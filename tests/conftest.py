"""Shared fixtures: a real SQLite data directory per test, the app, a fixed cast of staff,
a signed-in client helper, and a real `epn serve` process for system tests."""

from __future__ import annotations

import functools
import os
import re
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
import requests

from appliance.accounts import hash_password
from appliance.models import StaffUser
from appliance.config import load_config
from appliance.db import database, init_database
from appliance.web import create_app

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
EPN = str(Path(sys.executable).with_name("epn"))
CAST = {
    "coordinator": ("coline", "coordinator-pass-1"),
    "mediator": ("mehdi", "mediator-pass-22"),
}
# A Tuesday morning, inside the demo-like opening hours used by the tests.
FIXED_NOW = datetime(2026, 11, 17, 10, 30)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Under CI nothing may skip: a skipped test fails the run, with its reason."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where nothing may skip: {reason}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh data directory with the fixed cast of staff accounts."""
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "config.yaml").write_text(
        "site:\n  name: EPN Test\n  computers: 12\n", encoding="utf-8"
    )
    config = load_config(directory, environ={})
    init_database(config.database_path)
    with database.connection_context():
        for role, (username, password) in CAST.items():
            StaffUser.create(username=username, display_name=username.capitalize(),
                             password_hash=_cast_hash(password), role=role)
    return directory


@functools.lru_cache(maxsize=None)
def _cast_hash(password: str) -> str:
    """The slow hash is computed once per test run, not once per test."""
    return hash_password(password)


@pytest.fixture
def db(data_dir: Path) -> Iterator[None]:
    """An open connection to the test data directory's database, for domain tests."""
    database.connect(reuse_if_open=True)
    yield
    database.close()


@pytest.fixture
def app(data_dir: Path):  # type: ignore[no-untyped-def]
    application = create_app({"DATA_DIR": data_dir, "TESTING": True})
    application.extensions["epn_clock"] = lambda: FIXED_NOW
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path: str = "/staff/login") -> str:  # type: ignore[no-untyped-def]
    """The CSRF token of the form on `path`, as a browser would read it."""
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, role: str = "mediator") -> str:  # type: ignore[no-untyped-def]
    """Sign in as one of the cast; return a CSRF token valid for the new session."""
    username, password = CAST[role]
    response = client.post(
        "/staff/login",
        data={"csrf_token": csrf_token(client), "username": username, "password": password},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return csrf_token(client, "/staff/")


@pytest.fixture
def auth(client):  # type: ignore[no-untyped-def]
    """`auth("coordinator")` signs the test client in and returns a CSRF token."""
    return lambda role="mediator": sign_in(client, role)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A real `epn serve` (gunicorn) process on a free port; its stdout is kept for checks."""

    def __init__(self, data_dir: Path, log_path: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "EPN_DATA": str(data_dir)}
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [EPN, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("epn serve exited: " + self.log_path.read_text(errors="replace"))
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("epn serve did not answer within 20 s")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@pytest.fixture
def live_server(data_dir: Path, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(data_dir, tmp_path / "serve.log")
    yield server
    server.stop()


def live_session(server: LiveServer, role: str = "mediator") -> tuple[requests.Session, str]:
    """A requests session signed in on the live server, and its CSRF token."""
    session = requests.Session()
    token = CSRF.search(session.get(server.url + "/staff/login").text).group(1)
    username, password = CAST[role]
    response = session.post(
        server.url + "/staff/login",
        data={"csrf_token": token, "username": username, "password": password},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:300]
    token = CSRF.search(session.get(server.url + "/staff/").text).group(1)
    return session, token
