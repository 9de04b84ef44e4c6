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


@huey.periodic_task(crontab(minute="11"))
def build_reports() -> int:
    """Report the closed periods once a day (the first hourly run of each local day, so an
    appliance switched off at night catches up when it starts): new periods, and
    corrections of recent ones whose figures changed. Waits for a synchronised clock."""
    from appliance.federation.link import FederationError, find_link
    from appliance.federation.report import ClockNotSynchronised, build_due

    config = runtime["config"]
    with database.connection_context():
        if find_link() is None:
            return 0
        try:
            built = build_due(config)
        except ClockNotSynchronised as error:
            log.warning("reports not built: %s", error)
            return 0
        except FederationError as error:
            log.error("reports not built: %s", error)
            return 0
    if built:
        log.info("reports queued: %s", ", ".join(f"{b['period']}#{b['sequence']}" for b in built))
    return len(built or [])


@huey.periodic_task(crontab(minute="*/5"))
def push_reports() -> int:
    """Every five minutes, a cheap look at the outbox: push when its oldest report's time
    has come (first try at the EPN's own minute of the hour, retries after their backoff)."""
    from appliance.federation.link import find_link
    from appliance.federation.push import push_if_due

    config = runtime["config"]
    with database.connection_context():
        if find_link() is None:
            return 0
        summary = push_if_due(config)
    if summary is None:
        return 0
    log.info("push: %s", summary.line())
    return summary.sent


@huey.periodic_task(crontab(minute="*"))
def sync_printing() -> dict[str, int]:
    """Every minute: record new held jobs, charge completed ones and refund failed ones
    from CUPS's job states, expire jobs held too long (see appliance.printing.jobs)."""
    from appliance.hardware.printing import PrintSystemError, print_system_for
    from appliance.printing.jobs import sync

    config = runtime["config"]
    now = datetime.now(config.tz).replace(tzinfo=None)
    try:
        with database.connection_context():
            counts = sync(print_system_for(config), config, now)
    except PrintSystemError as error:
        log.warning("printing sync skipped: %s", error)
        return {}
    if any(counts.values()):
        log.info("printing sync: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


# The Wi-Fi domain keeps its task beside its rules.
import appliance.wifi.tasks  # noqa: E402, F401
