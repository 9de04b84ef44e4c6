"""The first README command's demo: a hub and three appliances, enrolled and pushed."""

import json
import re
import subprocess
from datetime import date, timedelta

import pytest

from appliance.period import Period
from tests.conftest import EPN, free_port

pytestmark = pytest.mark.system


def test_the_demo_hub_merges_the_reports_of_three_appliances_and_a_rerun_sends_nothing_twice(tmp_path):
    args = [EPN, "demo", "--data", str(tmp_path / "app"), "--hub-data", str(tmp_path / "hub"),
            "--hub-port", str(free_port()), "--no-serve"]
    first = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    sent = [int(n) for n in re.findall(r"\): sent (\d+), parked 0, waiting 0", first.stdout)]
    assert len(sent) == 3 and all(n > 0 for n in sent), first.stdout
    second = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert re.findall(r"\): sent (\d+)", second.stdout) == ["0", "0", "0"], second.stdout

    last_week = Period.containing(date.today() - timedelta(days=7), "week")
    figures = subprocess.run([EPN, "hub", "figures", "--data", str(tmp_path / "hub"), "--period",
                              str(last_week), "--format", "json"], capture_output=True, text=True, timeout=60)
    merged = json.loads(figures.stdout)
    assert merged["weekdays"]["total"]["epns"] == 3
    assert merged["totals"]["visits.total"] == merged["weekdays"]["total"]["sum"] > 0
