"""API tokens, for the appliance's API and the hub's alike: `KIND_PREFIX_SECRET`, shown
once, stored as a SHA-256 digest; the prefix finds the row without scanning."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from appliance.errors import N_, InvalidInput

_PREFIX = re.compile(r"[0-9a-f]{8}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,100}")  # older appliance tokens were URL-safe base64


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(model: Any, kind: str, name: str) -> str:
    """Store a new token of `model` (fields name, prefix, token_hash) and return it."""
    name = name.strip()
    if not 1 <= len(name) <= 60:
        raise InvalidInput("name", N_("Give the token a name of 1 to 60 characters."))
    prefix = secrets.token_hex(4)
    token = f"{kind}_{prefix}_{secrets.token_hex(32)}"
    model.create(name=name, prefix=prefix, token_hash=digest(token))
    return token


def check(model: Any, kind: str, token: str, now: datetime) -> Any:
    """The live row matching `token`, or None; `now` is naive UTC."""
    parts = token.split("_", 2)
    # Only what create() makes reaches the database (no NUL, no odd lengths).
    if len(parts) != 3 or parts[0] != kind or not _PREFIX.fullmatch(parts[1]) \
            or not _SECRET.fullmatch(parts[2]):
        return None
    row = model.get_or_none((model.prefix == parts[1]) & (model.revoked == False))  # noqa: E712
    if row is None or not hmac.compare_digest(row.token_hash, digest(token)):
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        # Written at most every few minutes: no write on every API call.
        model.update(last_used_at=now).where(model.id == row.id).execute()
    return row
