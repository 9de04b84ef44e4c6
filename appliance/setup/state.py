"""The first-boot setup's state: one small JSON file in the data directory, shared by
every gunicorn worker and the `epn setup` commands.

`DATA/setup/state.json` holds whether setup is pending or done, the hash of the current
setup code, the wrong-code counter, the answers given so far (the draft) and the
progress of the finishing steps. It is replaced atomically (write, fsync, rename) under
an exclusive lock, so a crash never leaves half a file and two workers never lose each
other's change. A data directory without this file needs no setup: it is "done".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from appliance.durable import write_file

SETUP_DIR = "setup"
STATE_FILE = "state.json"
PENDING, DONE = "pending", "done"


def state_path(data_dir: Path) -> Path:
    return Path(data_dir) / SETUP_DIR / STATE_FILE


def read_state(data_dir: Path) -> dict[str, Any]:
    """The current state; {} when setup was never started (nothing to set up)."""
    try:
        return json.loads(state_path(data_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def status(data_dir: Path) -> str:
    return PENDING if read_state(data_dir).get("status") == PENDING else DONE


def is_pending(data_dir: Path) -> bool:
    return status(data_dir) == PENDING


def _write(path: Path, state: dict[str, Any]) -> None:
    write_file(path, json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))


@contextlib.contextmanager
def changing_state(data_dir: Path) -> Iterator[dict[str, Any]]:
    """Read, let the caller change, write back: all under the setup lock.

    An exception inside the block leaves the file as it was."""
    path = state_path(data_dir)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    with open(path.parent / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read_state(data_dir)
        before = json.dumps(state, sort_keys=True)
        yield state
        if json.dumps(state, sort_keys=True) != before:
            _write(path, state)
