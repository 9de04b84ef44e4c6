"""Is the system clock synchronised? A Raspberry Pi has no battery-backed clock: after a
power cut it starts at the last saved time until NTP corrects it, and a report built then
would carry the wrong period and creation time.

`SystemClock` asks, in order, systemd-timesyncd (its flag file), `timedatectl` (the
kernel's NTP status, set by timesyncd or chrony) and `chronyc tracking`; the first that
says "synchronised" wins. `FakeClock` answers what it is told. `clock_for(config)` picks.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    from appliance.config import Config

TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
Runner = Callable[[list[str]], "str | None"]


@dataclass(frozen=True)
class ClockStatus:
    synchronised: bool
    source: str  # what told us so, for the operator


class Clock(Protocol):
    def status(self) -> ClockStatus: ...


def run_command(args: list[str]) -> str | None:
    """The command's standard output, or None when it is missing, fails or hangs."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def chrony_synchronised(output: str) -> bool:
    """chronyc's "Leap status : Normal" (or an announced leap second) means synchronised."""
    for line in output.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "Leap status":
            return value.strip() in ("Normal", "Insert second", "Delete second")
    return False


class SystemClock:
    """The real check, with its sources injectable for tests."""

    def __init__(self, flag: Path = TIMESYNCD_FLAG, run: Runner = run_command) -> None:
        self.flag = flag
        self.run = run

    def status(self) -> ClockStatus:
        if self.flag.exists():
            return ClockStatus(True, "systemd-timesyncd")
        answer = self.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        if answer is not None and answer.strip() == "yes":
            return ClockStatus(True, "timedatectl")
        tracking = self.run(["chronyc", "-n", "tracking"])
        if tracking is not None and chrony_synchronised(tracking):
            return ClockStatus(True, "chronyc")
        return ClockStatus(False, "neither systemd-timesyncd, timedatectl nor chronyc reports "
                                  "a synchronised clock")


class FakeClock:
    """A clock that is (or is not) synchronised because it is told so."""

    def __init__(self, synchronised: bool = True, source: str = "fake clock") -> None:
        self.synchronised = synchronised
        self.source = source

    def status(self) -> ClockStatus:
        return ClockStatus(self.synchronised, self.source)


def clock_for(config: Config) -> Clock:
    """The real check, unless the configuration trusts the clock as it is."""
    if not config.federation.require_clock_sync:
        return FakeClock(True, "federation.require_clock_sync is off")
    return SystemClock()
