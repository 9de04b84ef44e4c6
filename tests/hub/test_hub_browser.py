"""The coordination's dashboard in a real Chromium against a real `epn hub serve`
process: sign in through the form, open the dashboard, an EPN's page, the summary and
the public page, each with no axe-core WCAG 2.1 A/AA violation and no duplicate id."""

# ruff: noqa: F401, F811  (pytest fixtures imported from the other dashboard test modules)
from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from appliance.federation.hub.accounts import create_account
from appliance.federation.hub.db import database
from appliance.federation.hub.models import EPN
from tests.conftest import EPN as EPN_COMMAND
from tests.conftest import free_port
from tests.hub.conftest import WEEK, enrol_appliance, make_hub_app, write_hub_config
from tests.hub.test_dashboard import OCTOBER
from tests.test_browser import MISSING, assert_accessible, browser, new_page

pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]
PASSWORD = "demo-coordination"


def seed(hub_dir: Path) -> str:
    """Three EPNs with October's reports and a few weeks; an admin account. Returns EPN A's id."""
    client = make_hub_app({"DATA_DIR": hub_dir, "TESTING": True}).test_client()
    names = {name: enrol_appliance(client, name, commune=("21009" if name == "EPN C" else "21013"))
             for name in OCTOBER}
    with database.connection_context():
        EPN.update(enrolled_at=datetime(2025, 1, 1)).execute()
        create_account("coordination", PASSWORD, "admin", "Coordination")
    for name, figures in OCTOBER.items():
        assert names[name].report("2026-10", figures).status_code == 201
        for week, visits in (("2026-W44", 60), ("2026-W45", 70), ("2026-W46", 700)):
            assert names[name].report(week, {**WEEK, "visits.total": visits}).status_code == 201
    database.close()
    return names["EPN A"].epn


class HubServer:
    """`epn hub serve` on a free port."""

    def __init__(self, hub_dir: Path, log_path: Path) -> None:
        self.url = f"http://127.0.0.1:{(port := free_port())}"
        self._log = open(log_path, "wb")  # noqa: SIM115  (kept open for the process's life)
        self.process = subprocess.Popen([EPN_COMMAND, "hub", "serve", "--data", str(hub_dir), "--host", "127.0.0.1",
                                         "--port", str(port), "--workers", "1"],
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("epn hub serve exited: " + log_path.read_text(errors="replace"))
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("epn hub serve did not answer within 30 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@pytest.fixture(scope="module")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubServer, str]]:
    root = tmp_path_factory.mktemp("hub-browser")
    epn_id = seed(write_hub_config(root / "hub"))
    server = HubServer(root / "hub", root / "hub-serve.log")
    yield server, epn_id
    server.stop()


@pytest.fixture(scope="module")
def coordination(browser: Any, hub_server: tuple[HubServer, str]) -> Iterator[Any]:
    """Signed in through the real form. axe is injected inline: this context bypasses the CSP."""
    server, _ = hub_server
    page = new_page(browser, bypass_csp=True)
    page.goto(server.url + "/login")
    page.locator("#username").fill("coordination")
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(server.url + "/dashboard")
    yield page
    page.context.close()


@pytest.mark.parametrize("path", ["/dashboard?period=2026-10", "/dashboard?period=2026-W46", "/epns",
                                  "/epns/{epn}?period=2026-W46", "/dashboard/summary?year=2026"])
def test_hub_page_has_no_axe_violation(coordination: Any, hub_server: tuple[HubServer, str], path: str) -> None:
    server, epn_id = hub_server
    coordination.goto(server.url + path.format(epn=epn_id))
    assert coordination.locator("h1").count() == 1
    assert_accessible(coordination, path)


def test_the_dashboard_shows_figures_charts_and_flags(coordination: Any, hub_server: tuple[HubServer, str]) -> None:
    server, _ = hub_server
    coordination.goto(server.url + "/dashboard?period=2026-W46")
    assert coordination.locator('[data-figure="visits"]').first.inner_text() == "2100"
    assert coordination.locator("svg.chart[role=img]").count() >= 1
    assert coordination.locator("#flags tr[data-rule]").count() == 0  # two weeks of history only
    coordination.goto(server.url + "/dashboard?period=2026-10")
    assert coordination.locator("#survey-age .suppressed").count() == 4


def test_publishing_puts_the_figures_on_the_public_page(browser: Any, coordination: Any,
                                                        hub_server: tuple[HubServer, str]) -> None:
    server, _ = hub_server
    coordination.goto(server.url + "/dashboard?period=2026-10")
    coordination.locator("button[value=publish]").click()
    coordination.wait_for_url(server.url + "/dashboard?period=2026-10")
    public = new_page(browser, bypass_csp=True, java_script_enabled=True)
    public.goto(server.url + "/")
    assert public.locator('[data-figure="visits"]').first.inner_text() == "1000"
    assert_accessible(public, "the public page")
    public.context.close()
