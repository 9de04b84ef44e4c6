"""The federation demo: a hub and three appliances with different demo data, enrolled,
with their closed periods reported and pushed, so merged figures show at once.

The hub runs as its own `epn hub serve` process (as in production); the two extra
appliances only hold data (they need not serve pages)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from appliance.config import load_config, write_config_file
from appliance.db import database, init_database
from appliance.demo import seed_demo

OTHER_EPNS = [
    ("anderlecht", {"name": "EPN Anderlecht – Bibliothèque (démo)", "commune": "21001",
                    "postal_code": "1070", "computers": 10}, 1070),
    ("schaerbeek", {"name": "EPN Schaerbeek – CPAS (démo)", "commune": "21015",
                    "postal_code": "1030", "computers": 24}, 1030),
]
TOKEN_FILE = "demo-api-token"
# The `epn` command in a child process, whatever the virtualenv's layout.
EPN = [sys.executable, "-c", "from appliance.cli import main; main()"]


def _epn(*args: str) -> str:
    """Run an `epn` command in a child process; its last line of output."""
    result = subprocess.run([*EPN, *args],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"epn {args[0]} {args[1]}: {result.stderr.strip()}")
    return result.stdout.strip().splitlines()[-1]


def start_hub(hub_dir: Path, port: int) -> subprocess.Popen:
    """Start `epn hub serve` on 127.0.0.1:port and wait until it answers."""
    hub_dir.mkdir(parents=True, exist_ok=True)
    if not (hub_dir / "config.yaml").exists():
        write_config_file(hub_dir, {"hub": {"name": "brussels-demo"}})
    process = subprocess.Popen([*EPN, "hub", "serve",
                                "--data", str(hub_dir), "--host", "127.0.0.1", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the demo hub stopped at start (is port {port} free?)")
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the demo hub did not answer within 30 s")


def _enrol_and_push(data_dir: Path, hub_dir: Path, hub_url: str) -> str:
    """Enrol one appliance (once), build its due reports and push them; a summary line."""
    from appliance.federation.enrol import enrol
    from appliance.federation.link import find_link
    from appliance.federation.push import push_outbox
    from appliance.federation.report import build_due
    from appliance.hardware.clock import FakeClock

    config = load_config(data_dir)
    init_database(config.database_path)
    with database.connection_context():
        if find_link() is None:
            token = _epn("hub", "add-epn", "--data", str(hub_dir), "--name", config.site.name,
                          "--commune", config.site.commune, "--postal-code", config.site.postal_code,
                          "--organiser", "library" if "Biblioth" in config.site.name else "municipality")
            enrol(config, hub_url, token)
        build_due(config, clock=FakeClock(True, "demo"), force=True)
        summary = push_outbox(config, force=True)
    database.close()
    return f"{config.site.name}: {summary.line()}"


def run_federation_demo(main_dir: Path, hub_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    """Seed the other appliances, start the hub, enrol all three and push their reports.

    Returns the hub process (the caller stops it) and an API token for its figures."""
    hub = start_hub(hub_dir, port)
    hub_url = f"http://127.0.0.1:{port}"
    try:
        dirs = [main_dir]
        for slug, site, seed in OTHER_EPNS:
            seed_demo(hub_dir / "appliances" / slug, site=site, seed=seed)
            dirs.append(hub_dir / "appliances" / slug)
        for data_dir in dirs:
            print("  " + _enrol_and_push(data_dir, hub_dir, hub_url), flush=True)
        token_path = hub_dir / TOKEN_FILE
        if not token_path.exists():
            token_path.write_text(_epn("hub", "token", "add", "--data", str(hub_dir), "--name", "demo") + "\n")
            token_path.chmod(0o600)
        coordination_account(hub_dir)
    except Exception:
        hub.terminate()
        raise
    return hub, token_path.read_text().strip()


# The coordination's demo sign-in on the hub's dashboard (role admin: it may publish).
COORDINATION = ("coordination", "demo-coordination")


def coordination_account(hub_dir: Path) -> None:
    """Create the coordination's demo account once, and publish the last closed month on
    the hub's public page. The hub process uses the same SQLite file (WAL): safe to write."""
    from datetime import UTC, datetime

    from appliance.federation.hub import dashboard
    from appliance.federation.hub.accounts import HubAccount, create_account
    from appliance.federation.hub.db import database as hub_database
    from appliance.federation.hub.db import init_hub_database

    config = load_config(hub_dir)
    init_hub_database(config)
    now = datetime.now(UTC)
    with hub_database.connection_context():
        account = HubAccount.get_or_none(HubAccount.login == COORDINATION[0])
        if account is None:
            account = create_account(*COORDINATION, role="admin", display_name="Coordination (démo)")
        today = now.astimezone(config.tz).date()
        dashboard.publish(dashboard.default_period(today), account, today, now.replace(tzinfo=None))
    hub_database.close()
    print(f"  hub dashboard: sign in at /login as {COORDINATION[0]} / {COORDINATION[1]} (admin)", flush=True)
