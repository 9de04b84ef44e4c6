"""Against a real `epn serve` (two gunicorn workers): a double tap, or ten, on "accept"
from one device opens exactly one session."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from appliance.db import database
from appliance.models import WifiSession

pytestmark = pytest.mark.system


def test_simultaneous_acceptances_from_one_device_open_one_session(live_server):
    def tap(_: int) -> int:
        return requests.post(live_server.url + "/portal/wifi/accept", data={"rules": "yes"},
                             allow_redirects=False, timeout=20).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(tap, range(6)))
    assert statuses.count(303) == 6
    with database.connection_context():
        assert WifiSession.select().count() == 1
    api = requests.get(live_server.url + "/captive-portal/api", timeout=10)
    assert api.headers["Content-Type"] == "application/captive+json" and api.json()["captive"] is False
