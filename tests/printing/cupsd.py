"""A private cupsd for the system tests (the recipe in the shared notes): its own root
under a temporary directory, a free TCP port, file devices allowed; /etc/cups untouched."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.conftest import free_port

CUPSD = shutil.which("cupsd") or "/usr/sbin/cupsd"
PPD = Path("/usr/share/ppd/cupsfilters/Generic-PDF_Printer-PDF.ppd")


def missing() -> str | None:
    """Why a private cupsd cannot run here, or None."""
    if os.geteuid() != 0:
        return "the CUPS system tests need root (cupsd's file devices)"
    for tool in ("lp", "lpadmin", "cancel", "cupsenable", "cupsdisable", "cupsaccept"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install cups cups-client cups-bsd)"
    if not Path(CUPSD).exists():
        return "cupsd is not installed (apt-get install cups)"
    if not PPD.exists():
        return f"{PPD} is missing (apt-get install cups-filters)"
    return None


class PrivateCups:
    """cupsd listening on 127.0.0.1:<free port>, with queues whose device is a file."""

    def __init__(self) -> None:
        # Filters run as the unprivileged `lp` user: pytest's 0700 temporary directories
        # would hide the PPD and the spooled files from them, so the root is world-readable.
        root = self.root = Path(tempfile.mkdtemp(prefix="epn-cups-"))
        root.chmod(0o755)
        self.port = free_port()
        self.server = f"127.0.0.1:{self.port}"
        self.socket = str(root / "run" / "cups.sock")
        for sub in ("etc/ppd", "etc/ssl", "spool/tmp", "run", "cache", "log", "out"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "out").chmod(0o777)
        (root / "etc/cups-files.conf").write_text(
            f"FileDevice Yes\nServerRoot {root}/etc\nRequestRoot {root}/spool\n"
            f"StateDir {root}/run\nCacheDir {root}/cache\nTempDir {root}/spool/tmp\n"
            f"AccessLog {root}/log/access_log\nErrorLog {root}/log/error_log\n"
            f"PageLog {root}/log/page_log\nSystemGroup root\n"
        )
        (root / "etc/cupsd.conf").write_text(
            f"LogLevel info\nListen 127.0.0.1:{self.port}\nListen {root}/run/cups.sock\n"
            "Browsing No\nWebInterface No\n"
            "DefaultAuthType None\nJobPrivateValues none\nMaxJobTime 60\n"
            "<Location />\n  Order allow,deny\n  Allow localhost\n</Location>\n"
            "<Policy default>\n  JobPrivateValues none\n  SubscriptionPrivateValues none\n"
            "  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
        )
        self.process = subprocess.Popen(
            [CUPSD, "-f", "-c", f"{root}/etc/cupsd.conf", "-s", f"{root}/etc/cups-files.conf"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait()

    def env(self) -> dict[str, str]:
        # CUPS_STATEDIR: where the client finds this cupsd's local certificate (root
        # authenticates to a local cupsd with it), not the system cupsd's /run/cups.
        return {**os.environ, "CUPS_SERVER": self.server, "CUPS_STATEDIR": str(self.root / "run"), "LC_ALL": "C"}

    def run(self, *args: str) -> str:
        done = subprocess.run(list(args), capture_output=True, text=True, env=self.env(), timeout=20)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def _wait(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("cupsd exited: " + self.error_log())
            if subprocess.run(["lpstat", "-r"], env=self.env(), capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("cupsd did not answer within 15 s")

    def add_queue(self, name: str, held: bool = True, device: str | None = None) -> Path:
        """A queue printing to a file (its path is returned); held by default."""
        out = self.root / "out" / f"{name}.prn"
        command = ("lpadmin", "-p", name, "-E", "-v", device or f"file://{out}", "-P", str(PPD))
        # Seen under load, rarely: cupsd answers `lpstat -r` but refuses the first lpadmin
        # ("Unable to connect to server: Bad file descriptor"). Try again briefly, then say
        # what cupsd logged.
        for attempt in range(10):
            try:
                self.run(*command)
                break
            except RuntimeError as error:
                if attempt == 9:
                    raise RuntimeError(f"{error}\ncupsd error_log:\n{self.error_log()}") from None
                time.sleep(0.5)
        if held:
            self.run("lpadmin", "-p", name, "-o", "job-hold-until-default=indefinite")
        return out

    def error_log(self) -> str:
        path = self.root / "log/error_log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)  # cupsd takes 1-3 s to exit
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
