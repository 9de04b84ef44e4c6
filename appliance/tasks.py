"""Periodic tasks: thin wrappers over domain functions, run by `epn worker`."""

from __future__ import annotations

import logging
from datetime import datetime

from huey import crontab

from appliance.db import database
from appliance.members import purge_expired
from appliance.taskqueue import huey, runtime

log = logging.getLogger("appliance.tasks")


@huey.periodic_task(crontab(hour="2", minute="17"))
def purge_personal_data() -> dict[str, int]:
    """Delete the personal data whose retention period is over (every night)."""
    config = runtime["config"]
    today = datetime.now(config.tz).date()
    with database.connection_context():
        counts = purge_expired(today, config.retention)
    log.info("retention purge: %s", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return counts
