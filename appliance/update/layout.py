"""The installed releases under PREFIX (/opt/epn on an appliance):

    PREFIX/releases/<version>/   one virtualenv per release
    PREFIX/current -> releases/<version>    what the services run (swapped atomically)
    PREFIX/previous -> releases/<version>   what ran before the last update
    PREFIX/.update.lock          held while an update runs
    PREFIX/update-state.json     releases that failed their health check
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from appliance.durable import sync_directory, write_file
from appliance.update.bundle import ReleaseError, parse_version


class Layout:
    def __init__(self, prefix: Path) -> None:
        self.prefix = Path(prefix)
        self.releases = self.prefix / "releases"
        self.current = self.prefix / "current"
        self.previous = self.prefix / "previous"
        self.lock = self.prefix / ".update.lock"
        self.state = self.prefix / "update-state.json"

    def release(self, version: str) -> Path:
        return self.releases / version

    def version_of(self, link: Path) -> str | None:
        """The release a link points to, or None when there is none."""
        if not link.is_symlink():
            return None
        name = Path(os.readlink(link)).name
        return name if (self.releases / name).is_dir() else None

    def point(self, link: Path, version: str) -> None:
        """Make `link` point to releases/<version> in one atomic rename."""
        temporary = link.with_name(f".{link.name}.tmp-{os.getpid()}")
        temporary.unlink(missing_ok=True)
        os.symlink(f"releases/{version}", temporary)
        os.replace(temporary, link)
        sync_directory(self.prefix)

    def installed(self) -> list[str]:
        """Release folders named by a version, highest first."""
        found = []
        for entry in self.releases.iterdir() if self.releases.is_dir() else []:
            try:
                found.append((parse_version(entry.name), entry.name))
            except ReleaseError:
                continue
        return [name for _, name in sorted(found, reverse=True)]

    def prune(self, keep: int) -> list[str]:
        """Remove the oldest releases beyond `keep`; never the current or the previous one."""
        protected = {self.version_of(self.current), self.version_of(self.previous)} - {None}
        kept = len(protected)
        removed = []
        for name in self.installed():
            if name in protected:
                continue
            if kept < keep:
                kept += 1
                continue
            shutil.rmtree(self.release(name))
            removed.append(name)
        return removed

    def read_state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def write_state(self, state: dict[str, Any]) -> None:
        write_file(self.state, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode("utf-8"), 0o644)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold PREFIX/.update.lock, or refuse at once if another update holds it."""
        self.prefix.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ReleaseError(f"another update is running (it holds {self.lock})") from None
            yield
        finally:
            os.close(fd)
