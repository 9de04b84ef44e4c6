"""`epn wifi ...` with the in-memory backend: vouchers, refresh, up; bad input in one line."""

from __future__ import annotations

import subprocess

from appliance.db import database
from appliance.models import WifiVoucher
from tests.conftest import EPN


def epn(data_dir, *args: str) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    return subprocess.run([EPN, "wifi", *args, "--data", str(data_dir)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_voucher_add_prints_one_code_a_line_and_revoke_ends_it(data_dir):
    done = epn(data_dir, "voucher", "add", "--count", "3", "--minutes", "45", "--batch", "Atelier")
    codes = done.stdout.split()
    assert done.returncode == 0 and len(codes) == 3 and all(len(c) == 8 for c in codes)
    revoked = epn(data_dir, "voucher", "revoke", codes[-1].lower())
    assert revoked.returncode == 0 and "sessions ended: 0" in revoked.stdout
    with database.connection_context():
        assert WifiVoucher.get(WifiVoucher.code == codes[-1]).revoked_at is not None
        assert WifiVoucher.select().where(WifiVoucher.batch == "Atelier").count() == 3


def test_bad_voucher_input_exits_non_zero_with_one_line(data_dir):
    for args in (("voucher", "add", "--count", "0"), ("voucher", "add", "--minutes", "2"),
                 ("voucher", "revoke", "NOSUCHCODE")):
        done = epn(data_dir, *args)
        assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_up_and_refresh_run_with_the_fake_backend(data_dir):
    up = epn(data_dir, "up")
    assert up.returncode == 0 and "sessions restored: 0" in up.stdout
    refresh = epn(data_dir, "refresh")
    assert refresh.returncode == 0 and "addresses_erased=0" in refresh.stdout


def test_the_workers_task_refreshes_sessions_and_erases_old_addresses(data_dir):
    from datetime import datetime, timedelta

    from appliance.config import load_config
    from appliance.models import WifiSession
    from appliance.taskqueue import bind_queue
    from appliance.wifi.tasks import refresh_wifi_sessions

    bind_queue(load_config(data_dir, environ={}), immediate=True)
    old = datetime(2026, 1, 5, 10)
    with database.connection_context():
        WifiSession.create(resume_code="ABCDEF", kind="rules", ipv4="10.44.0.9", mac="02:00:00:00:00:09",
                           day=old.date(), started_at=old, expires_at=old + timedelta(hours=2))
    counts = refresh_wifi_sessions.call_local()
    assert counts["expired"] == 1 and counts["addresses_erased"] == 1
    with database.connection_context():
        row = WifiSession.get()
        assert (row.ipv4, row.mac, row.end_reason) == ("", "", "expired")
