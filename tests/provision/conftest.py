"""Provisioning fixtures: a Debian root built by images/rootfs.sh (cached base, one build
per module), the role run again inside it (chroot), the ansible recap parsed, and the root
booted with systemd-nspawn in its own network namespace, with commands run inside it
through nsenter.

Every system test here needs root on Linux with debootstrap and systemd-nspawn; where that
is missing it skips with one line (and fails under CI=true, see tests/conftest.py)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOTFS = REPO / "images" / "rootfs.sh"
CACHE = REPO / "build" / "cache"
RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$", re.MULTILINE)


def missing_for_root_build() -> str | None:
    """Why a root cannot be built and booted here, or None."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, systemd-nspawn)"
    for tool in ("debootstrap", "systemd-nspawn", "nsenter", "chroot"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (debootstrap, systemd-container, util-linux)"
    return None


def require_root_build() -> None:
    reason = missing_for_root_build()
    if reason:
        pytest.skip(reason)


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP lines of ansible-playbook: host -> {ok, changed, failed, ...}."""
    recap = output.split("PLAY RECAP", 1)[-1] if "PLAY RECAP" in output else ""
    return {match["host"]: {key: int(value) for key, value in
                            (item.split("=") for item in match["counts"].split())}
            for match in RECAP.finditer(recap)}


def build_root(root: Path, extra_vars: Path | None, arch: str = "amd64",
               no_role: bool = False) -> tuple[str, float]:
    """Run images/rootfs.sh into `root`; return its output and the seconds it took."""
    command = ["bash", str(ROOTFS), "--arch", arch, "--out", str(root), "--cache", str(CACHE)]
    if extra_vars is not None:
        command += ["--extra-vars", str(extra_vars)]
    if no_role:
        command.append("--no-role")
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1500, check=False)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise AssertionError(f"rootfs.sh failed ({done.returncode}):\n{output[-6000:]}")
    return output, time.monotonic() - started


@contextlib.contextmanager
def chroot_mounts(root: Path) -> Iterator[None]:
    """/proc, /sys, /dev, /dev/pts and a /run tmpfs with the host's resolver in the root."""
    mounted: list[Path] = []
    specs = [("proc", ["-t", "proc", "proc"]), ("sys", ["-t", "sysfs", "sysfs"]),
             ("dev", ["--bind", "/dev"]), ("dev/pts", ["--bind", "/dev/pts"]),
             ("run", ["-t", "tmpfs", "-o", "mode=0755", "tmpfs"])]
    try:
        for place, args in specs:
            target = root / place
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", *args, str(target)], check=True)
            mounted.append(target)
        resolve = root / "run" / "systemd" / "resolve"
        resolve.mkdir(parents=True)
        for name in ("stub-resolv.conf", "resolv.conf"):
            shutil.copyfile("/etc/resolv.conf", resolve / name)
        yield
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], check=False)


def provision_again(root: Path, *args: str) -> str:
    """Run the role a second time inside the root (chroot), as rootfs.sh ran it."""
    with chroot_mounts(root):
        done = subprocess.run(["chroot", str(root), "/var/lib/epn-provision/run.sh", *args],
                              capture_output=True, text=True, timeout=900, check=False,
                              env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"})
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise AssertionError(f"second run failed ({done.returncode}):\n{output[-6000:]}")
    return output


def remove_root(root: Path) -> None:
    """Delete a root, refusing while anything is still mounted inside it."""
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        inside = [line.split()[1] for line in mounts if line.split()[1].startswith(str(root) + "/")]
    for target in sorted(inside, reverse=True):
        subprocess.run(["umount", "-l", target], check=False)
    shutil.rmtree(root, ignore_errors=True)


class BootedRoot:
    """A root booted with systemd-nspawn --boot --private-network: its own network
    namespace, so nothing it does to nftables, addresses or forwarding reaches the host."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.process: subprocess.Popen[str] | None = None
        self.leader = 0
        self.log = root.parent / f"{root.name}-nspawn.log"

    def start(self, timeout: float = 60) -> None:
        with open(self.log, "w", encoding="utf-8") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                ["systemd-nspawn", "-q", "--register=no", "--keep-unit", "--boot",
                 "--private-network", "-D", str(self.root)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                text=True, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.leader = _container_init(self.process.pid)
            if self.leader:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"systemd-nspawn did not start the root:\n{self.log.read_text()[-3000:]}")

    def run(self, *args: str, network_only: bool = False, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command inside the container: all its namespaces (its own binaries), or
        only its network namespace (this host's binaries, e.g. this Python)."""
        spaces = ["-n"] if network_only else ["-a"]
        done = subprocess.run(["nsenter", "-t", str(self.leader), *spaces, *args],
                              capture_output=True, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}")
        return done

    def wait_until_booted(self, timeout: float = 180) -> str:
        """`systemctl is-system-running --wait`: running, or degraded when a unit failed."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            # Until the container's systemd listens, systemctl answers "offline" at once.
            done = self.run("systemctl", "is-system-running", "--wait",
                            timeout=max(1.0, deadline - time.monotonic()), check=False)
            state = done.stdout.strip()
            if state in ("running", "degraded", "maintenance", "stopping"):
                return state
            time.sleep(0.2)
        return state

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGTERM asks the container's systemd to power off (~2 s); kill if it hangs.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _container_init(nspawn_pid: int) -> int:
    """The host PID of the container's PID 1 (a child of nspawn, PID 1 in its namespace)."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = re.search(r"^PPid:\s*(\d+)", text, re.MULTILINE)
        nspid = re.search(r"^NSpid:\s*(.*)$", text, re.MULTILINE)
        if ppid and int(ppid[1]) == nspawn_pid and nspid and nspid[1].split()[-1] == "1" \
                and len(nspid[1].split()) > 1:
            return int(status.parent.name)
    return 0


@contextlib.contextmanager
def booted(root: Path) -> Iterator[BootedRoot]:
    machine = BootedRoot(root)
    try:
        machine.start()
        yield machine
    finally:
        machine.stop()


@pytest.fixture(scope="session")
def provision_timings() -> Iterator[dict[str, float]]:
    """Seconds of each step, printed at the end of the session (pytest -s, or -rA)."""
    timings: dict[str, float] = {}
    yield timings
    if timings:
        print("\nprovisioning timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
