"""Every gunicorn worker serves the settings the wizard wrote.

The app is built once, in gunicorn's master, before the workers fork; its settings are
read then. Each worker checks config.yaml's identity (inode, size, time) before a
request, a single stat(); when the file changed, the worker builds the app again from the
new file and serves with it from then on. A worker forked later from the master's older
app notices the same and rebuilds at its first request. A file the loader refuses is
logged and the last good app goes on serving.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("appliance.setup")
Signature = tuple[int, int, int] | None


def file_signature(path: Path) -> Signature:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)


class ConfigWatcher:
    """WSGI middleware: passes requests to the current app, rebuilt when `path` changes."""

    def __init__(self, inner: Callable, path: Path, rebuild: Callable[[], Any]) -> None:
        self.inner = inner
        self.path = path
        self.rebuild = rebuild
        self.signature = file_signature(path)
        self.current = inner
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        signature = file_signature(self.path)
        if signature != self.signature:
            with self._lock:
                if signature != self.signature:
                    self._reload(signature)
        return self.current(environ, start_response)

    def _reload(self, signature: Signature) -> None:
        self.signature = signature  # a refused file is not tried again until it changes
        try:
            fresh = self.rebuild()
        except Exception as error:  # noqa: BLE001  (keep serving with the last good settings)
            log.error("settings not reloaded, %s: %s", self.path, error)
            return
        watcher = fresh.wsgi_app
        self.current = watcher.inner if isinstance(watcher, ConfigWatcher) else watcher
        log.info("settings reloaded from %s", self.path)


def reload_on_config_change(app: Any, rebuild: Callable[[], Any]) -> None:
    """Wrap `app` so that it serves an app made by `rebuild()` once config.yaml changed."""
    from appliance.config import CONFIG_FILE

    config = app.extensions["epn_config"]
    app.wsgi_app = ConfigWatcher(app.wsgi_app, Path(config.data_dir) / CONFIG_FILE, rebuild)
