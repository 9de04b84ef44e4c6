"""The one-time setup code: shown on the device's console, typed in the browser.

Only a salted scrypt hash is stored. A new code replaces the previous one (and ends the
browser sessions it opened). Wrong codes are counted in the state file, so every worker
sees the same count: after `MAX_FAILURES` wrong codes nobody may try for
`LOCK_MINUTES`, and each wrong code is logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.booking.codes import format_code, new_code, normalise_code
from appliance.setup.state import PENDING, changing_state

MAX_FAILURES = 5
LOCK_MINUTES = 15
log = logging.getLogger("appliance.setup")


class SetupDone(Exception):
    """Setup is not pending: there is no code to make or check."""


@dataclass(frozen=True)
class CodeCheck:
    claim: str | None  # the claim to keep in the browser's session when the code is right
    wait_minutes: int = 0  # > 0: too many wrong codes, nobody may try before then


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _hash(code: str, salt: bytes) -> str:
    digest = hashlib.scrypt(code.encode("ascii"), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return base64.b64encode(digest).decode("ascii")


def make_code(data_dir: Path) -> str:
    """A new code (as shown: `7KQ2-MX9D`); the previous one stops working."""
    code = new_code()
    salt = secrets.token_bytes(16)
    with changing_state(data_dir) as state:
        if state.get("status") != PENDING:
            raise SetupDone()
        state["code"] = {"salt": base64.b64encode(salt).decode("ascii"), "hash": _hash(code, salt),
                         "claim": secrets.token_urlsafe(16), "made_at": _utcnow().isoformat()}
        state["failures"], state["locked_until"] = 0, None
    return format_code(code)


def _matches(stored: dict, typed: str) -> bool:
    code = normalise_code(typed)
    if code is None or not stored:
        return False
    expected = _hash(code, base64.b64decode(stored["salt"]))
    return hmac.compare_digest(expected, stored["hash"])


def check_code(data_dir: Path, typed: str, client: str, now: datetime | None = None) -> CodeCheck:
    """Check a typed code. Right: the claim for the session. Wrong: counted and logged."""
    now = now or _utcnow()
    with changing_state(data_dir) as state:
        if state.get("status") != PENDING:
            raise SetupDone()
        locked = state.get("locked_until")
        if locked and datetime.fromisoformat(locked) > now:
            left = datetime.fromisoformat(locked) - now
            return CodeCheck(None, max(1, -(-int(left.total_seconds()) // 60)))
        stored = state.get("code") or {}
        if _matches(stored, typed):
            state["failures"], state["locked_until"] = 0, None
            return CodeCheck(stored["claim"])
        failures = state.get("failures", 0) + 1
        log.warning("setup: wrong setup code from %s (%d of %d)", client, failures, MAX_FAILURES)
        if failures < MAX_FAILURES:
            state["failures"] = failures
            return CodeCheck(None)
        state["failures"], state["locked_until"] = 0, (now + timedelta(minutes=LOCK_MINUTES)).isoformat()
        log.warning("setup: %d wrong setup codes: nobody may try for %d minutes", failures, LOCK_MINUTES)
        return CodeCheck(None, LOCK_MINUTES)


def claim_is_valid(state: dict, claim: str | None) -> bool:
    """Whether a session's claim belongs to the current code of a pending setup."""
    current = (state.get("code") or {}).get("claim")
    return state.get("status") == PENDING and bool(claim) and bool(current) and hmac.compare_digest(
        str(claim), str(current))
