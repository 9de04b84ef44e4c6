"""The setup code: hashed, one at a time, and a limit on wrong codes shared by all
workers (it lives in the state file)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from appliance.setup.code import LOCK_MINUTES, MAX_FAILURES, check_code, claim_is_valid, make_code
from appliance.setup.state import read_state
from tests.setup.conftest import mark_pending


def test_the_code_is_accepted_as_people_type_it(data_dir: Path):
    code = mark_pending(data_dir)
    for typed in (code, code.lower(), code.replace("-", " "), f"  {code}  "):
        assert check_code(data_dir, typed, "test").claim == read_state(data_dir)["code"]["claim"]


def test_wrong_codes_lock_everyone_out_for_a_while_even_with_the_right_code(data_dir: Path, caplog):
    code = mark_pending(data_dir)
    now = datetime(2026, 11, 22, 9, 0)
    for _ in range(1, MAX_FAILURES):
        wrong = check_code(data_dir, "AAAA-AAAA", "192.0.2.9", now)
        assert wrong.claim is None and wrong.wait_minutes == 0
    last = check_code(data_dir, "AAAA-AAAA", "192.0.2.9", now)
    assert last.claim is None and last.wait_minutes == LOCK_MINUTES
    locked = check_code(data_dir, code, "192.0.2.9", now + timedelta(minutes=1))
    assert locked.claim is None and locked.wait_minutes == LOCK_MINUTES - 1
    assert "wrong setup code from 192.0.2.9" in caplog.text
    later = check_code(data_dir, code, "192.0.2.9", now + timedelta(minutes=LOCK_MINUTES, seconds=1))
    assert later.claim


def test_a_new_code_ends_the_sessions_of_the_old_one(data_dir: Path):
    first = mark_pending(data_dir)
    claim = check_code(data_dir, first, "test").claim
    assert claim_is_valid(read_state(data_dir), claim)
    make_code(data_dir)
    assert not claim_is_valid(read_state(data_dir), claim)
    assert check_code(data_dir, first, "test").claim is None


@pytest.mark.parametrize("typed", ["", "AAAA", "AAAA-AAAA-AAAA", "ÉÉÉÉ-ÉÉÉÉ"])
def test_malformed_codes_are_simply_wrong(data_dir: Path, typed: str):
    mark_pending(data_dir)
    assert check_code(data_dir, typed, "test").claim is None
    assert read_state(data_dir)["failures"] == 1
