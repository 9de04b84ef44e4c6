"""Fixtures of the help queue tests: opening hours around the fixed test clock."""

from __future__ import annotations

from datetime import time

import pytest

from appliance.config import QueueConfig
from appliance.db import database
from appliance.desk.schedule import set_weekly_hours

# Monday to Saturday, 9:00-17:00: FIXED_NOW (Tuesday 10:30) is open.
WEEK = {day: [(time(9), time(17))] for day in range(6)}


def open_hours() -> None:
    with database.connection_context():
        set_weekly_hours(WEEK)


@pytest.fixture
def hours(data_dir):  # type: ignore[no-untyped-def]
    open_hours()
    return WEEK


@pytest.fixture
def queue_db(db, hours):  # type: ignore[no-untyped-def]
    """A connected database with the EPN open around FIXED_NOW."""
    database.connect(reuse_if_open=True)
    yield QueueConfig()


@pytest.fixture
def open_app(app, hours):  # type: ignore[no-untyped-def]
    return app
