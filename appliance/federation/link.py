"""The appliance's link to its hub (one row) and the key that signs for it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.federation import keys
from appliance.models import FederationLink

NEW_KEY_FILE = "report_key.new.pem"


class FederationError(Exception):
    """Something stops a federation step; the message is one line for the operator."""


class NotEnrolled(FederationError):
    def __init__(self) -> None:
        super().__init__("this appliance is not enrolled with a hub: "
                         "run `epn enrol HUB_URL TOKEN` with the token the hub gave")


def current_link() -> FederationLink:
    link = FederationLink.select().order_by(FederationLink.id.desc()).first()
    if link is None:
        raise NotEnrolled()
    return link


def find_link() -> FederationLink | None:
    return FederationLink.select().order_by(FederationLink.id.desc()).first()


def new_key_path(data_dir: Path) -> Path:
    return keys.key_path(data_dir).with_name(NEW_KEY_FILE)


def _key_id_of(key: Ed25519PrivateKey) -> str:
    return keys.key_id(keys.public_bytes(key))


def signing_key(data_dir: Path, link: FederationLink) -> Ed25519PrivateKey:
    """The private key whose id the link names.

    A key rotation records the new key id first, then moves the new key file into place;
    if it was interrupted in between, the move is finished here.
    """
    current = keys.ensure_key(data_dir)
    if _key_id_of(current) == link.key_id:
        return current
    staged = new_key_path(data_dir)
    if staged.exists() and _key_id_of(keys.load_key(staged)) == link.key_id:
        os.replace(staged, keys.key_path(data_dir))
        return keys.load_key(keys.key_path(data_dir))
    raise FederationError(
        f"the signing key in {keys.key_path(data_dir).parent} is not the enrolled key "
        f"{link.key_id}: enrol again with `epn enrol HUB_URL TOKEN`"
    )


def answer_reason(answer: Any) -> str:
    """A hub answer's reason code and message for people ("stale: period ... has ..."),
    or its status, or "" when the answer is not a hub's JSON summary."""
    if not isinstance(answer, dict):
        return ""
    reason, message = str(answer.get("reason") or "")[:60], str(answer.get("message") or "")[:200]
    if reason and message:
        return f"{reason}: {message}"
    return reason or message or str(answer.get("status") or "")[:60]
