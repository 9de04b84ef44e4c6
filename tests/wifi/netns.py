"""Three network namespaces for the captive portal's system tests: a visitor, the
appliance (gateway + portal) and an "internet" host, joined by veth pairs, IPv4 and IPv6.

Nothing is created in the root namespace; `Lab.close()` kills the processes it started
and deletes the namespaces, also after a failure half-way."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

VISITOR_IP, VISITOR_IP6 = "10.77.1.2", "fd77:1::2"
GATEWAY_IP, GATEWAY_IP6 = "10.77.1.1", "fd77:1::1"
INTERNET_IP, INTERNET_IP6 = "10.77.2.2", "fd77:2::2"
PORTAL_PORT = 8080
TOOLS = ("ip", "nft", "curl", "conntrack")


def missing_reason() -> str | None:
    """Why the namespace tests cannot run here, in one line (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    absent = [tool for tool in TOOLS if shutil.which(tool) is None]
    if absent:
        return f"missing {', '.join(absent)} (scripts/system-deps.sh installs them)"
    probe = f"epnprobe{os.getpid()}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"cannot create a network namespace: {done.stderr.strip()[:120]}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


def sh(*args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done


class Lab:
    """The three namespaces; `in_visitor(...)` / `in_appliance(...)` run commands there."""

    def __init__(self, prefix: str) -> None:
        self.visitor, self.appliance, self.internet = (f"{prefix}-v", f"{prefix}-a", f"{prefix}-i")
        self.processes: list[subprocess.Popen] = []

    def setup(self, web_root: Path) -> None:
        for ns in (self.visitor, self.appliance, self.internet):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "c0", "netns", self.visitor, "type", "veth", "peer", "name", "g0",
           "netns", self.appliance)
        sh("ip", "link", "add", "g1", "netns", self.appliance, "type", "veth", "peer", "name", "n0",
           "netns", self.internet)
        for ns, dev, v4, v6 in (
            (self.visitor, "c0", VISITOR_IP, VISITOR_IP6),
            (self.appliance, "g0", GATEWAY_IP, GATEWAY_IP6),
            (self.appliance, "g1", "10.77.2.1", "fd77:2::1"),
            (self.internet, "n0", INTERNET_IP, INTERNET_IP6),
        ):
            sh("ip", "-n", ns, "addr", "add", f"{v4}/24", "dev", dev)
            sh("ip", "-n", ns, "addr", "add", f"{v6}/64", "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        for ns, via4, via6 in ((self.visitor, GATEWAY_IP, GATEWAY_IP6), (self.internet, "10.77.2.1", "fd77:2::1")):
            sh("ip", "-n", ns, "route", "add", "default", "via", via4)
            sh("ip", "-n", ns, "-6", "route", "add", "default", "via", via6)
        sh("ip", "netns", "exec", self.appliance, "sysctl", "-qw", "net.ipv4.ip_forward=1",
           "net.ipv6.conf.all.forwarding=1")
        self.web_root = web_root
        (web_root / "index.html").write_text("internet-ok\n", encoding="utf-8")
        (web_root / "big.bin").write_bytes(os.urandom(3_000_000))
        for port in ("80", "8000"):  # the web, and "any other service"
            self.start(self.internet, ["python3", "-m", "http.server", port, "--bind", "::",
                                       "--directory", str(web_root)])

    def start(self, ns: str, command: list[str], env: dict | None = None,
              log: Path | None = None) -> subprocess.Popen:
        out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115  (the process keeps it)
        process = subprocess.Popen(["ip", "netns", "exec", ns, *command], stdout=out,
                                   stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.processes.append(process)
        return process

    def in_visitor(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", self.visitor, *args, check=False, timeout=timeout)

    def in_appliance(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        full = ["ip", "netns", "exec", self.appliance, *args]
        done = subprocess.run(full, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed: {done.stderr.strip()[-500:]}")
        return done

    def curl(self, url: str, *extra: str, family: str = "-4", timeout: float = 2) -> tuple[str, str]:
        """(status line "code redirect", body) of a visitor's request; ("000 ", "") when blocked."""
        marker = "\n@@"
        done = self.in_visitor("curl", family, "-s", "--connect-timeout", str(timeout), "--max-time",
                               str(timeout + 3), "-w", marker + "%{http_code} %{redirect_url}", *extra, url,
                               timeout=timeout + 10)
        body, _, status = done.stdout.rpartition(marker)
        return status.strip() or "000", body

    def wait_for(self, url: str, family: str = "-4", seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.curl(url, family=family, timeout=1)[0].startswith("000"):
                return
            time.sleep(0.2)
        raise AssertionError(f"{url} did not answer within {seconds} s")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for ns in (self.visitor, self.appliance, self.internet):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
