"""The huey instance: a SqliteHuey queue in the data directory.

It is created in memory at import (no file is touched) and bound to the data
directory by `bind_queue`, which the worker, the web app and the tests call.
"""

from __future__ import annotations

from huey import SqliteHuey

from appliance.config import Config

huey = SqliteHuey("epn", results=False, immediate=True)
# The configuration the tasks run with, set by bind_queue in the worker process.
runtime: dict[str, Config] = {}


def bind_queue(config: Config, immediate: bool = False) -> None:
    """Use the data directory's queue file (or run tasks at once when `immediate`)."""
    runtime["config"] = config
    huey.storage_kwargs.update(filename=str(config.queue_path), timeout=10)
    huey.immediate = immediate
    if not immediate:
        huey.storage = huey.create_storage()
