"""Retention: the nightly purge (members.purge_expired, which runs every domain's purge)
blanks a booking's nickname, phone and code `booking.retention_days` after its slot; the
counts stay for the statistics, and the figures do not change."""

from __future__ import annotations

from datetime import timedelta

from appliance.booking import figures
from appliance.booking.bookings import Visitor, book_seat
from appliance.db import database
from appliance.members import purge_expired
from appliance.models import Booking
from appliance.period import Period
from appliance.web import create_app
from tests.booking.conftest import CONFIG, NOW, TOMORROW, at, set_up_epn


def test_the_nightly_purge_uses_the_configured_retention_and_keeps_the_counts(data_dir, monkeypatch):
    from appliance.taskqueue import runtime

    monkeypatch.setitem(runtime, "config", runtime.get("config"))  # restored after the test
    app = create_app({"DATA_DIR": data_dir, "TESTING": True, "SETTINGS": {"booking": {"retention_days": 5}}})
    assert app.extensions["epn_config"].booking.retention_days == 5
    with database.connection_context():
        set_up_epn()
        booking = book_seat(at(TOMORROW, 9), Visitor("Nadia", "0470 99 88 77"), NOW, CONFIG)
        before = figures(Period.parse("2026-W47"))
        retention = app.extensions["epn_config"].retention
        assert purge_expired(TOMORROW + timedelta(days=5), retention)["booking"] == 0
        assert purge_expired(TOMORROW + timedelta(days=6), retention)["booking"] == 1
        row = Booking.get_by_id(booking.id)
        assert (row.nickname, row.phone, row.code) == ("", "", None)
        assert figures(Period.parse("2026-W47")) == before
        assert purge_expired(TOMORROW + timedelta(days=7), retention)["booking"] == 0  # once only
