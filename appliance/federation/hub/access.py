"""API tokens of the hub's figures API (`epn hub token add --name NAME`), stored hashed."""

from __future__ import annotations

from datetime import datetime

from appliance import tokens
from appliance.federation.hub.epns import naive_utc
from appliance.federation.hub.models import ApiToken

PREFIX = "hub"


def create_api_token(name: str) -> str:
    """Create a token and return it; only its SHA-256 is stored."""
    return tokens.create(ApiToken, PREFIX, name)


def check_api_token(token: str, now: datetime) -> ApiToken | None:
    """The live token matching `token`, or None."""
    return tokens.check(ApiToken, PREFIX, token, naive_utc(now))
