"""API tokens of the hub's figures API (`epn hub token add --name NAME`), stored hashed."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta

from appliance.errors import N_, InvalidInput
from appliance.federation.hub.epns import naive_utc, token_digest
from appliance.federation.hub.models import ApiToken

PREFIX = "hub"
_HEX = re.compile(r"[0-9a-f]{1,64}")


def create_api_token(name: str) -> str:
    """Create a token and return it; only its SHA-256 is stored."""
    name = name.strip()
    if not 1 <= len(name) <= 60:
        raise InvalidInput("name", N_("Give the token a name of 1 to 60 characters."))
    prefix = secrets.token_hex(4)
    # token_hex, not token_urlsafe: the secret never contains the separator.
    token = f"{PREFIX}_{prefix}_{secrets.token_hex(32)}"
    ApiToken.create(name=name, prefix=prefix, token_hash=token_digest(token))
    return token


def check_api_token(token: str, now: datetime) -> ApiToken | None:
    """The live token matching `token`, or None."""
    parts = token.split("_")
    # Only what create_api_token makes reaches the database (no NUL, no odd lengths).
    if len(parts) != 3 or parts[0] != PREFIX or not _HEX.fullmatch(parts[1]) or not _HEX.fullmatch(parts[2]):
        return None
    row = ApiToken.get_or_none((ApiToken.prefix == parts[1]) & (ApiToken.revoked == False))  # noqa: E712
    if row is None or not hmac.compare_digest(row.token_hash, token_digest(token)):
        return None
    stamp = naive_utc(now)
    if row.last_used_at is None or stamp - row.last_used_at > timedelta(minutes=5):
        # Written at most every few minutes: no write on every API call.
        ApiToken.update(last_used_at=stamp).where(ApiToken.id == row.id).execute()
    return row
