"""Fixtures of the appliance's federation tests: a configured data directory, a fake hub,
an enrolled appliance, and visits in known weeks."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Iterator

import pytest

from appliance.config import Config, load_config
from appliance.desk.schedule import set_weekly_hours
from appliance.federation import keys
from appliance.federation.enrol import enrol
from appliance.hardware.clock import FakeClock
from appliance.models import FederationLink, Visit
from tests.federation.fakehub import FakeHub

# Tuesday 13 October 2026, 03:00 UTC: 2026-W41 (5-11 Oct) is still open, 2026-W40 and
# 2026-09 are closed.
NOW = datetime(2026, 10, 13, 3, 0, tzinfo=timezone.utc)
SYNCED = FakeClock(True)
FEDERATION_SETTINGS = "federation:\n  require_clock_sync: false\n  push_timeout_seconds: 2\n"
# For `epn` processes: a busy test machine must not turn a slow answer into a failure.
PROCESS_SETTINGS = "federation:\n  require_clock_sync: false\n  push_timeout_seconds: 15\n"


@pytest.fixture
def config(data_dir: Path) -> Config:
    """The test data directory with a trusted clock, a short push timeout and a key."""
    with open(data_dir / "config.yaml", "a", encoding="utf-8") as handle:
        handle.write(FEDERATION_SETTINGS)
    keys.ensure_key(data_dir)
    return load_config(data_dir, environ={})


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    fake = FakeHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def enrolled(db: None, config: Config, hub: FakeHub) -> Config:
    """An appliance enrolled with the fake hub as epn-7."""
    enrol(config, hub.url, hub.add_epn("epn-7"))
    return config


@pytest.fixture
def linked(db: None, config: Config) -> FederationLink:
    """An enrolment stored directly, for tests that need no hub at all."""
    public = keys.public_bytes(keys.ensure_key(config.data_dir))
    return FederationLink.create(hub_url="http://127.0.0.1:9", hub_id="brussels", epn_id="epn-7",
                                 key_id=keys.key_id(public),
                                 enrolled_at=datetime(2026, 10, 1, 9, 0))


def add_visits(day: date, count: int, purpose: str = "job_search", hour: int | None = 10,
               source: str = "walk_in") -> None:
    Visit.insert_many([{"day": day, "hour": hour, "purpose": purpose, "source": source,
                        "used_computer": True} for _ in range(count)]).execute()


def open_weekdays() -> None:
    """Open 09:00-17:00 on weekdays."""
    set_weekly_hours({day: [(time(9), time(17))] for day in range(5)})
