"""The ansible/ tree without a target machine: ansible-lint (offline, nothing skipped
without a reason in ansible/.ansible-lint), ansible-playbook --syntax-check on site.yml
with the example inventory, and the role's systemd units, rendered by ansible itself,
through `systemd-analyze verify` (which must print nothing at all)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.provision.conftest import REPO

ANSIBLE = REPO / "ansible"
ROLE = ANSIBLE / "roles" / "appliance"
UNITS = ["epn-serve.service", "epn-worker.service", "epn-wifi.service", "epn-setup-code.service",
         "epn-backup.service", "epn-backup.timer", "epn-update.service", "epn-update.timer"]


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package {package})")
    return path


def run(args: list[str], cwd: Path = ANSIBLE, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "NO_COLOR": "1", "ANSIBLE_LOCAL_TEMP": str(Path("/tmp") / "epn-ansible-local")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_ansible_lint_passes_offline_with_no_rule_skipped() -> None:
    lint = need("ansible-lint", "ansible-lint")
    settings = yaml.safe_load((ANSIBLE / ".ansible-lint").read_text(encoding="utf-8"))
    assert settings.get("offline") is True
    assert not settings.get("skip_list") and not settings.get("warn_list"), \
        "a skipped rule needs its reason written next to it"
    done = run([lint, "--offline", "--nocolor", "-p"])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_site_playbook_passes_the_syntax_check_with_the_example_inventory() -> None:
    playbook = need("ansible-playbook", "ansible-core")
    done = run([playbook, "--syntax-check", "-i", "inventory/example/hosts.yml", "site.yml"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_example_inventory_has_one_hub_and_two_appliances() -> None:
    inventory = yaml.safe_load((ANSIBLE / "inventory/example/hosts.yml").read_text(encoding="utf-8"))
    groups = inventory["all"]["children"]
    assert len(groups["hub"]["hosts"]) == 1
    assert len(groups["appliances"]["hosts"]) == 2


def test_every_role_variable_is_documented_in_the_example_group_vars() -> None:
    documented = yaml.safe_load(
        (ANSIBLE / "inventory/example/group_vars/appliances.yml").read_text(encoding="utf-8"))
    for role in ("base", "appliance"):
        defaults = yaml.safe_load((ANSIBLE / "roles" / role / "defaults/main.yml").read_text(encoding="utf-8"))
        missing = sorted(set(defaults) - set(documented) - {"epn_version"})
        assert not missing, f"{role}: undocumented in group_vars/appliances.yml: {missing}"


def render_units(out: Path, wifi: bool) -> Path:
    """Render the role's unit templates with ansible into `out`, with a stub `epn` and
    backup script under `out` (systemd-analyze checks that the commands exist)."""
    prefix, libexec = out / "opt-epn", out / "libexec"
    for stub in (prefix / "current" / "bin" / "epn", libexec / "backup-copy"):
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
        stub.chmod(0o755)
    wheelhouse = out / "wheelhouse"
    wheelhouse.mkdir()
    (wheelhouse / "requirements.txt").write_text("epn-appliance==0.1.0\nflask==3.1.3\n", encoding="utf-8")
    units = out / "units"
    units.mkdir()
    playbook = out / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Render the appliance role's units",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"name": "Role defaults", "ansible.builtin.include_vars": {"file": str(ROLE / "defaults/main.yml")}},
            {"name": "Role vars", "ansible.builtin.include_vars": {"file": str(ROLE / "vars/main.yml")}},
            {"name": "Units", "loop": UNITS, "ansible.builtin.template": {
                "src": str(ROLE / "templates") + "/{{ item }}.j2", "dest": str(units) + "/{{ item }}",
                "mode": "0644"}},
        ],
    }], sort_keys=False), encoding="utf-8")
    extra = {"epn_prefix": str(prefix), "epn_libexec_dir": str(libexec), "epn_wheelhouse": str(wheelhouse),
             "epn_wifi_enabled": wifi, "epn_setup_help": {"rc": 0}, "epn_update_help": {"rc": 0}}
    done = run([need("ansible-playbook", "ansible-core"), "-c", "local", "-i", "localhost,",
                str(playbook), "-e", json.dumps(extra)])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    return units


@pytest.mark.parametrize("wifi", [True, False], ids=["wifi-portal", "no-wifi"])
def test_rendered_units_pass_systemd_analyze_verify(tmp_path: Path, wifi: bool) -> None:
    analyze = need("systemd-analyze", "systemd")
    units = render_units(tmp_path, wifi)
    done = subprocess.run([analyze, "verify", *sorted(str(p) for p in units.iterdir())],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "SYSTEMD_LOG_COLOR": "0"})
    # Warnings (an unknown key, a bad value) keep the exit status 0: any output fails.
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr
    serve = (units / "epn-serve.service").read_text(encoding="utf-8")
    assert "ProtectSystem=strict" in serve and "NoNewPrivileges=yes" in serve
    if wifi:
        assert "AmbientCapabilities=CAP_NET_ADMIN" in serve
    else:
        assert "CapabilityBoundingSet=\n" in serve and "AmbientCapabilities" not in serve
