"""The tests' stand-in for `systemctl restart epn-serve.service`: stop the running
`epn serve` (if any), start `PREFIX/current/bin/epn serve` in its own session, return.

    python supervisor.py --state DIR --prefix PREFIX --data DATA [--stop]

DIR/pid holds the server's process id; DIR/serve.log collects its output.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def stop(state: Path) -> None:
    pid_file = state / "pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 20
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink()


def start(state: Path, prefix: Path, data: Path) -> None:
    with open(state / "serve.log", "ab") as log:
        process = subprocess.Popen(
            [str(prefix / "current" / "bin" / "epn"), "serve"], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env={**os.environ, "EPN_DATA": str(data)}, start_new_session=True,
        )
    (state / "pid").write_text(str(process.pid))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--prefix", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--stop", action="store_true")
    args = parser.parse_args()
    stop(args.state)
    if not args.stop:
        start(args.state, args.prefix, args.data)


if __name__ == "__main__":
    main()
