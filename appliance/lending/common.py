"""What every part of the laptop-thèque needs: its settings outside a request."""

from __future__ import annotations

from datetime import datetime

from appliance.config import LendingConfig


def lending_config() -> LendingConfig:
    """The running app's (or worker's) lending settings; defaults outside them."""
    from appliance.taskqueue import runtime

    config = runtime.get("config")
    return config.lending if config is not None else LendingConfig()


def site_language() -> str:
    from appliance.taskqueue import runtime

    config = runtime.get("config")
    return config.site.default_language if config is not None else "fr"


def local_now() -> datetime:
    """The appliance's local time (naive), like every time the laptop-thèque stores."""
    from appliance.taskqueue import runtime

    config = runtime.get("config")
    if config is None:
        return datetime.now()
    return datetime.now(config.tz).replace(tzinfo=None)
