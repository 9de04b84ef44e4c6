"""The appliance role on a fresh Debian 12 root, as an image build applies it: images/rootfs.sh
(debootstrap, cached per day) runs the playbook inside the root; a second run changes
nothing; then the root boots with systemd-nspawn --private-network and its own
epn-serve.service answers /healthz inside the container's network namespace, with the
units' hardening in effect and the portal's firewall loaded there, never on this host."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from tests.provision.conftest import (
    BootedRoot,
    booted,
    build_root,
    parse_recap,
    provision_again,
    remove_root,
    require_root_build,
)

pytestmark = pytest.mark.system

SITE_NAME = "EPN Provision Test"
# Wi-Fi portal on (an external access point: there is no radio in the container; no IPv6,
# whose DHCPv6 needs an interface with a MAC address), journal in RAM, networkd.
EXTRA_VARS = {
    "epn_manage_config": True,
    "epn_wifi_enabled": True,
    "epn_network_manage": True,
    "epn_volatile_logs": True,
    "epn_config": {
        "site": {"name": SITE_NAME, "commune": "Saint-Gilles", "computers": 4},
        "wifi": {"external_ap": True, "visitor_interface": "epnvis0", "subnet_v6": ""},
    },
}
HEALTHZ = ("import urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=5);"
           " print(r.status); print(r.read().decode())")


@pytest.fixture(scope="module")
def timings(provision_timings: dict[str, float]) -> dict[str, float]:
    return provision_timings


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, timings: dict[str, float]) -> Iterator[Path]:
    """A bookworm root with the appliance role applied (images/rootfs.sh, image_build=true)."""
    require_root_build()
    base = tmp_path_factory.mktemp("provision")
    extra = base / "extra-vars.yml"
    extra.write_text(yaml.safe_dump(EXTRA_VARS), encoding="utf-8")
    directory = base / "root"
    try:
        output, seconds = build_root(directory, extra)
        timings["root build + first run"] = seconds
        recap = parse_recap(output)
        assert recap.get("localhost", {}).get("failed") == 0, output[-3000:]
        yield directory
    finally:
        remove_root(directory)


@pytest.fixture(scope="module")
def machine(root: Path, timings: dict[str, float]) -> Iterator[BootedRoot]:
    """The root booted; the second run of the role happens before (module order)."""
    started = time.monotonic()
    with booted(root) as booted_root:
        state = booted_root.wait_until_booted()
        timings["boot to " + state] = time.monotonic() - started
        booted_root.boot_state = state  # type: ignore[attr-defined]
        booted_root.started = started  # type: ignore[attr-defined]
        yield booted_root


def inside(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def test_role_installed_the_release_the_data_and_the_units(root: Path) -> None:
    current = inside(root, "/opt/epn/current")
    version = metadata.version("epn-appliance")
    assert current.is_symlink() and current.readlink() == Path(f"releases/{version}")
    assert inside(root, f"/opt/epn/releases/{version}/bin/epn").is_file()
    assert inside(root, "/usr/local/bin/epn").readlink() == Path("/opt/epn/current/bin/epn")
    assert "EPN_DATA=/var/lib/epn/data" in inside(root, "/etc/default/epn").read_text()
    passwd = {line.split(":")[0]: line.split(":") for line in inside(root, "/etc/passwd").read_text().splitlines()}
    assert passwd["epn"][5:] == ["/var/lib/epn", "/usr/sbin/nologin"]
    data = inside(root, "/var/lib/epn/data")
    assert data.stat().st_uid == int(passwd["epn"][2]) and stat.S_IMODE(data.stat().st_mode) == 0o750
    assert (data / "epn.sqlite3").stat().st_uid == int(passwd["epn"][2])
    config = yaml.safe_load((data / "config.yaml").read_text())
    assert config["site"]["name"] == SITE_NAME and config["wifi"]["backend"] == "nft"
    passphrase = inside(root, "/etc/epn/backup-passphrase")
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o640 and len(passphrase.read_text().strip()) >= 24
    lpadmin = [line for line in inside(root, "/etc/group").read_text().splitlines() if line.startswith("lpadmin:")]
    assert lpadmin and "epn" in lpadmin[0].split(":")[3].split(",")
    wants = inside(root, "/etc/systemd/system/multi-user.target.wants")
    for unit in ("epn-serve.service", "epn-worker.service", "epn-wifi.service", "dnsmasq.service", "cups.service"):
        assert (wants / unit).is_symlink(), unit
    assert (inside(root, "/etc/systemd/system/timers.target.wants") / "epn-backup.timer").is_symlink()
    assert "Storage=volatile" in inside(root, "/etc/systemd/journald.conf.d/epn.conf").read_text()
    assert "RuntimeWatchdogSec=15" in inside(root, "/etc/systemd/system.conf.d/epn-watchdog.conf").read_text()
    assert not inside(root, "/usr/sbin/policy-rc.d").exists()


def test_second_run_of_the_role_changes_nothing(root: Path, timings: dict[str, float]) -> None:
    started = time.monotonic()
    output = provision_again(root)
    timings["second run"] = time.monotonic() - started
    recap = parse_recap(output)["localhost"]
    changed = [line for line in output.splitlines() if line.startswith("changed:")]
    assert recap["failed"] == 0 and recap["changed"] == 0, "\n".join(changed) or output[-3000:]


def test_booted_root_serves_healthz_from_its_own_unit(machine: BootedRoot, timings: dict[str, float]) -> None:
    deadline = time.monotonic() + 90
    while True:
        done = machine.run(sys.executable, "-c", HEALTHZ, network_only=True, check=False)
        if done.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    timings["boot to /healthz 200"] = time.monotonic() - machine.started  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr[-2000:]
    status, body = done.stdout.split("\n", 1)
    assert status == "200" and json.loads(body)["status"] == "ok"
    assert machine.run("systemctl", "is-active", "epn-serve.service").stdout.strip() == "active"


def test_every_unit_started_and_none_failed(machine: BootedRoot) -> None:
    failed = machine.run("systemctl", "list-units", "--failed", "--plain", "--no-legend").stdout
    assert machine.boot_state == "running", failed  # type: ignore[attr-defined]
    for unit in ("epn-serve", "epn-worker", "epn-wifi", "dnsmasq", "cups", "systemd-networkd",
                 "epn-backup.timer"):
        assert machine.run("systemctl", "is-active", unit, check=False).stdout.strip() == "active", unit
    # The wizard's and the updater's units exist once this release has `epn setup`/`epn update`.
    for unit in ("epn-update.timer", "epn-setup-code.service"):
        if inside(machine.root, f"/etc/systemd/system/{unit}").exists():
            assert machine.run("systemctl", "is-active", unit, check=False).stdout.strip() == "active", unit
    # timesyncd does not run in a container (ConditionVirtualization=!container): enabled only.
    assert machine.run("systemctl", "is-enabled", "systemd-timesyncd").stdout.strip() == "enabled"


def test_web_app_runs_as_epn_with_only_the_portal_capability(machine: BootedRoot) -> None:
    show = machine.run("systemctl", "show", "epn-serve.service", "-p",
                       "MainPID,User,NoNewPrivileges,ProtectSystem,ProtectHome,PrivateTmp,Restart").stdout
    props = dict(line.split("=", 1) for line in show.splitlines() if "=" in line)
    assert props["User"] == "epn" and props["NoNewPrivileges"] == "yes"
    assert props["ProtectSystem"] == "strict" and props["ProtectHome"] == "yes"
    assert props["PrivateTmp"] == "yes" and props["Restart"] == "always"
    status = machine.run("cat", f"/proc/{props['MainPID']}/status").stdout
    fields = dict(line.split(":", 1) for line in status.splitlines())
    uid = machine.run("id", "-u", "epn").stdout.strip()
    assert fields["Uid"].split()[:2] == [uid, uid]
    assert fields["NoNewPrivs"].strip() == "1"
    # CAP_NET_ADMIN is bit 12; nothing else is effective or can ever be gained.
    assert int(fields["CapEff"], 16) == 1 << 12 and int(fields["CapBnd"], 16) == 1 << 12
    # Even root inside the service's mount namespace cannot write outside ReadWritePaths.
    written = machine.run("nsenter", "-t", props["MainPID"], "-m", "touch", "/opt/epn/x", check=False)
    assert written.returncode != 0 and "Read-only file system" in written.stderr


def test_portal_firewall_and_forwarding_live_only_in_the_container(machine: BootedRoot) -> None:
    tables = machine.run("nft", "list", "tables").stdout
    assert "table inet epn_portal" in tables
    assert machine.run("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    if shutil.which("nft"):
        host = subprocess.run(["nft", "list", "table", "inet", "epn_portal"], capture_output=True,
                              text=True, check=False)
        assert host.returncode != 0, "the container's portal table reached this host's network"


def test_backup_unit_writes_an_encrypted_backup(machine: BootedRoot) -> None:
    machine.run("systemctl", "start", "epn-backup.service", timeout=120)
    listing = machine.run("find", "/var/lib/epn/backups", "-name", "epn-backup-*.epnbak",
                          "-user", "epn", "-size", "+1k").stdout.split()
    assert len(listing) == 1, machine.run("journalctl", "-u", "epn-backup", "--no-pager", check=False).stdout
    data = inside(machine.root, listing[0]).read_bytes()
    assert b'"kdf": "scrypt"' in data[:400] and SITE_NAME.encode() not in data
