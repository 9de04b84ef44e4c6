"""The Wi-Fi's periodic task, for `epn worker`: read the firewall's counters into the
sessions, close the expired and over-quota ones, erase addresses past their retention.
(The worker imports this module; the task is a thin wrapper over domain functions.)"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from huey import crontab

from appliance.db import database
from appliance.hardware.firewall import FirewallError, firewall_for
from appliance.taskqueue import huey, runtime
from appliance.wifi import purge_addresses
from appliance.wifi.sessions import refresh

log = logging.getLogger("appliance.tasks")


@huey.periodic_task(crontab(minute="*"))
def refresh_wifi_sessions() -> dict[str, int]:
    config = runtime["config"]
    now = datetime.now(UTC).replace(tzinfo=None)
    with database.connection_context():
        try:
            counts = refresh(now, config.wifi, firewall_for(config))
        except FirewallError:
            # Not the error's text: nft may echo an address back.
            log.error("wifi sessions not refreshed: the firewall refused (try `epn wifi refresh`)")
            counts = {}
        counts["addresses_erased"] = purge_addresses(now, config.wifi)
    return counts
