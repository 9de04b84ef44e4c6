"""Against a real `epn serve` (gunicorn, two workers) on a file database: mediators
pressing "call next" at the same moment each get a different ticket, and a phone
flooding the ticket page is stopped."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time

import pytest
import requests

from appliance.accounts import create_token
from appliance.config import load_config
from appliance.db import database, init_database
from appliance.desk.schedule import set_weekly_hours
from appliance.helpqueue import take_ticket
from appliance.models import QueueTicket
from tests.conftest import LiveServer

pytestmark = pytest.mark.system
TICKETS = 30  # taken before the server starts
TAKEN = 10  # taken through the API at the same moment
CALLERS = 50


def _prepare(data_dir) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    """Open all day, every day, TICKETS waiting, and an API token."""
    config = load_config(data_dir, environ={})
    init_database(config.database_path)
    now = datetime.now(config.tz).replace(tzinfo=None)
    with database.connection_context():
        set_weekly_hours({day: [(time(0, 0), time(23, 59))] for day in range(7)})
        for _ in range(TICKETS):
            take_ticket("forms", now, config.queue, "desk")
        token = create_token("parallel-test")
    return token, config


def test_parallel_takes_get_distinct_numbers_and_parallel_calls_never_share_a_ticket(data_dir, tmp_path):
    token, config = _prepare(data_dir)
    now = datetime.now(config.tz)
    if now.time() >= time(23, 45):
        # The day of the tickets would change mid-test: wait for the new day (at most
        # 16 minutes) rather than skip, which CI would count as a failure.
        import time as clock

        clock.sleep((24 * 3600 + 60) - (now.hour * 3600 + now.minute * 60 + now.second))
    server = LiveServer(data_dir, tmp_path / "serve.log", workers=2)
    try:
        headers = {"Authorization": f"Bearer {token}"}

        def call(_: int) -> requests.Response:
            return requests.post(server.url + "/api/v1/queue/next", json={}, headers=headers, timeout=30)

        def take(_: int) -> requests.Response:
            return requests.post(server.url + "/api/v1/queue/tickets", json={"kind": "job"},
                                 headers=headers, timeout=30)

        with ThreadPoolExecutor(max_workers=TAKEN) as pool:
            taken = list(pool.map(take, range(TAKEN)))
        with ThreadPoolExecutor(max_workers=CALLERS) as pool:
            answers = list(pool.map(call, range(CALLERS)))
    finally:
        server.stop()
    assert sorted(t.json()["number"] for t in taken) == list(range(TICKETS + 1, TICKETS + TAKEN + 1))
    total = TICKETS + TAKEN
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * total + [204] * (CALLERS - total), statuses
    called = [a.json()["number"] for a in answers if a.status_code == 200]
    assert sorted(called) == list(range(1, total + 1))  # each ticket exactly once
    init_database(config.database_path)
    with database.connection_context():
        assert QueueTicket.select().where(QueueTicket.state == "called").count() == total


def test_a_flood_of_tickets_from_one_phone_is_rate_limited(data_dir, tmp_path):
    _prepare(data_dir)
    server = LiveServer(data_dir, tmp_path / "serve.log", workers=2)
    try:
        phone = requests.Session()
        form = phone.get(server.url + "/lang/en?next=/queue/").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

        def take(_: int) -> int:
            return phone.post(server.url + "/queue/", data={"csrf_token": csrf, "kind": "job"},
                              allow_redirects=False, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(take, range(20)))
        refused = phone.post(server.url + "/queue/", data={"csrf_token": csrf, "kind": "job"}, timeout=30)
    finally:
        server.stop()
    assert statuses.count(303) == 3 and statuses.count(429) == 17, statuses
    assert refused.status_code == 429 and "ask at the desk" in refused.text
