"""The real server process (gunicorn, 2 workers) and the real task worker."""

import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import requests

from appliance.db import database, init_database
from appliance.members import create_member
from appliance.models import Erasure, Member, Visit
from tests.conftest import EPN, live_session

pytestmark = pytest.mark.system


def test_parallel_visits_from_many_desks_are_all_counted_exactly_once(live_server, data_dir):
    sessions = [live_session(live_server) for _ in range(6)]

    def log_visits(pair):
        session, token = pair
        statuses = []
        for index in range(20):
            response = session.post(live_server.url + "/staff/visits", allow_redirects=False,
                                    data={"csrf_token": token, "purpose": "job_search", "services": "computer"})
            statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = [s for batch in pool.map(log_visits, sessions) for s in batch]
    assert statuses == [302] * 120
    init_database(data_dir / "epn.sqlite3")
    with database.connection_context():
        assert Visit.select().count() == 120
        assert Visit.select().where(Visit.used_computer == True).count() == 120  # noqa: E712


def test_parallel_api_calls_with_bad_and_good_input_never_give_a_server_error(live_server, data_dir):
    token = subprocess.run([EPN, "token", "add", "--name", "t", "--data", str(data_dir)],
                           capture_output=True, text=True, timeout=60).stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    bodies = [{"purpose": "admin_procedures"}, {"purpose": "nope"}, {"services": 3}, None] * 15

    def call(body):
        return requests.post(live_server.url + "/api/v1/visits", json=body, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(call, bodies))
    assert statuses.count(201) == 15 and statuses.count(400) == 45
    with database.connection_context():
        assert Visit.select().count() == 15


def test_logs_go_to_stdout_without_addresses_query_strings_or_record_ids(live_server, data_dir):
    with database.connection_context():
        member = create_member("Logged Nobody", "0470 55 44 33", "fr", "visitor", False, None, date.today())
    session, _ = live_session(live_server)
    session.get(live_server.url + "/staff/visits?day=2026-11-17&secret=CODE-7QX4")
    session.get(live_server.url + f"/staff/members/{member.id}")
    session.get(live_server.url + "/staff/members/?q=Logged+Nobody")
    time.sleep(0.3)
    log = live_server.log()
    assert "GET /staff/members/<int:member_id> 200" in log
    assert "127.0.0.1" not in log.replace(f"127.0.0.1:{live_server.port}", "")
    for secret in ("CODE-7QX4", "Logged", "day=2026", f"/staff/members/{member.id}", member.number):
        assert secret not in log


def test_the_server_refuses_oversized_requests_cleanly(live_server):
    session, token = live_session(live_server, "coordinator")
    response = session.post(live_server.url + "/staff/import", headers={"Accept-Language": "en"},
                            files={"file": ("big.csv", b"x" * (3 * 1024 * 1024))}, data={"csrf_token": token})
    assert response.status_code == 413
    assert "The file is too large." in response.text


def test_the_worker_runs_the_retention_purge_and_stops_on_sigint(data_dir, tmp_path):
    with database.connection_context():
        create_member("Long gone", "", "fr", "visitor", False, None, date.today() - timedelta(days=800))
    from appliance.config import load_config
    from appliance.taskqueue import bind_queue, huey

    config = load_config(data_dir, environ={})
    bind_queue(config)
    import appliance.tasks as tasks

    tasks.purge_personal_data()  # enqueued in the data directory's queue file
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([EPN, "worker", "--data", str(data_dir)], stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ})
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and "retention purge" not in log_path.read_text():
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=20)
    text = log_path.read_text()
    assert re.search(r"retention purge: .*members=1", text), text[-2000:]
    with database.connection_context():
        assert Member.select().count() == 0 and Erasure.get().reason == "retention"
    huey.immediate = True
