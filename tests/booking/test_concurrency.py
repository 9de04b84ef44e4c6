"""The last place under load: 50 visitors press "Book" at the same moment against a real
`epn serve` process on a file database. Exactly one gets the place; every other one is
offered the waitlist (workshop) or the next free time (seat), and nothing is lost."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import requests

from appliance.booking.catalogue import add_seat, create_workshops
from appliance.config import load_config
from appliance.db import database, init_database
from appliance.desk.schedule import set_weekly_hours
from appliance.models import Booking
from tests.booking.conftest import workshop_draft
from tests.conftest import LiveServer

VISITORS = 50
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
pytestmark = pytest.mark.system


def _prepare(data_dir: Path) -> tuple[int, datetime]:
    """Open every day 8:00-20:00, one seat, one workshop with one place, tomorrow."""
    config = load_config(data_dir, environ={})
    init_database(config.database_path)
    tomorrow = datetime.now(config.tz).date() + timedelta(days=1)
    with database.connection_context():
        set_weekly_hours({day: [(time(8), time(20))] for day in range(7)})
        add_seat("PC 1")
        now = datetime.now(config.tz).replace(tzinfo=None)
        workshop = create_workshops(workshop_draft(day=tomorrow, capacity=1), now)[0][0]
    return workshop.id, datetime.combine(tomorrow, time(10))


def _fire(server: LiveServer, path: str, forms: list[dict]) -> list[requests.Response]:
    """One session per visitor (its own CSRF token), then every POST released at once."""
    sessions = []
    for _ in forms:
        session = requests.Session()
        sessions.append((session, TOKEN.search(session.get(server.url + path, timeout=10).text).group(1)))
    start = threading.Barrier(len(forms))

    def post(index: int) -> requests.Response:
        session, token = sessions[index]
        start.wait()
        return session.post(server.url + path, data={**forms[index], "csrf_token": token},
                            allow_redirects=False, timeout=60)

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(post, range(len(forms))))


def test_fifty_visitors_press_book_for_the_last_place_and_exactly_one_gets_it(data_dir, tmp_path):
    workshop_id, slot = _prepare(data_dir)
    server = LiveServer(data_dir, tmp_path / "serve.log")
    try:
        workshop = _fire(server, "/booking/workshops",
                         [{"workshop": str(workshop_id), "nickname": f"W{n}"} for n in range(VISITORS)])
        seat = _fire(server, "/booking/seat",
                     [{"day": slot.date().isoformat(), "slot": slot.isoformat(timespec="minutes"),
                       "nickname": f"S{n}"} for n in range(VISITORS)])
        log = server.log()
    finally:
        server.stop()
    for responses, other in ((workshop, 'name="waitlist" value="1"'), (seat, 'checked')):
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [303] + [409] * (VISITORS - 1), statuses
        assert all(other in r.text for r in responses if r.status_code == 409)
    next_slot = (slot + timedelta(hours=1)).isoformat(timespec="minutes")
    assert all(f'value="{next_slot}" checked' in r.text for r in seat if r.status_code == 409)
    with database.connection_context():
        assert Booking.select().where(Booking.kind == "workshop").count() == 1
        assert Booking.select().where(Booking.kind == "seat").count() == 1
    assert "Traceback" not in log and " 500 " not in log
