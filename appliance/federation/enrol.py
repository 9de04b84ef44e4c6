"""Enrolment with a hub, and key rotation (docs/protocol.md, "Enrolment" and "Key rotation").

Enrolment sends the public key with a proof of possession (the token and the key signed
under `epn-enrol/1`); the hub answers its name, our EPN id, the key id and fingerprint it
registered, and the last sequence it accepted from us, from which we carry on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from peewee import fn

from appliance import http
from appliance.config import Config
from appliance.db import database
from appliance.federation import keys, outbox
from appliance.federation.canonical import canonical_bytes
from appliance.federation.link import (
    FederationError,
    answer_reason,
    current_link,
    find_link,
    new_key_path,
    signing_key,
)
from appliance.models import FederationLink, OutboxReport

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
Sender = Callable[..., http.Response]


class EnrolmentError(FederationError):
    """The hub did not enrol us (or answered something we cannot trust)."""


@dataclass(frozen=True)
class Enrolment:
    hub: str
    epn: str
    key_id: str
    hub_fingerprint: str  # the fingerprint of our key as the hub registered it
    local_fingerprint: str
    next_sequence: int
    superseded: int  # pending reports made for an earlier enrolment, parked unsent


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_hub_url(url: str) -> str:
    """http(s)://host[:port][/path], without a trailing slash, query or credentials."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EnrolmentError(f"{http.safe_url(url)}: the hub's address must start with https:// "
                             "(or http:// for a test hub)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise EnrolmentError("the hub's address must not carry credentials, a query or a fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _hub_reason(response: http.Response) -> str:
    return answer_reason(response.json()) or f"HTTP {response.status}"


def _checked_answer(response: http.Response, local_key_id: str) -> dict[str, Any]:
    if response.status != 200:
        raise EnrolmentError(f"the hub refused the enrolment: {_hub_reason(response)}")
    answer = response.json()
    if not isinstance(answer, dict):
        raise EnrolmentError("the hub's answer is not a JSON object")
    for name in ("hub", "epn", "key_id", "fingerprint"):
        if not isinstance(answer.get(name), str) or (name != "fingerprint" and not _ID.match(answer[name])):
            raise EnrolmentError(f"the hub's answer has no valid {name!r}")
    last = answer.get("last_sequence")
    if not isinstance(last, int) or isinstance(last, bool) or last < 0:
        raise EnrolmentError("the hub's answer has no valid 'last_sequence'")
    if answer["key_id"] != local_key_id:
        raise EnrolmentError(f"the hub registered key {answer['key_id']}, not ours "
                             f"({local_key_id}): nothing stored")
    return answer


def _post(send: Sender, url: str, body: bytes, headers: dict[str, str], config: Config) -> http.Response:
    try:
        return send(url, body, {"Content-Type": "application/json", **headers},
                    timeout=config.federation.push_timeout_seconds)
    except http.TransportError as error:
        raise EnrolmentError(f"the hub did not answer: {error}") from None


def enrol(config: Config, hub_url: str, token: str, new_key: bool = False,
          send: Sender = http.post) -> Enrolment:
    """Enrol with the hub at `hub_url` using its one-time `token`; store the link.

    With `new_key`, a new key is made and enrolled (after a revocation: a hub does not
    enrol a revoked key again); it replaces the current one only once the hub accepted it.
    """
    base = normalise_hub_url(hub_url)
    token = token.strip()
    if not token or len(token) > 200:
        raise EnrolmentError("the enrolment token is empty or too long")
    key = _staged_key(config) if new_key else keys.ensure_key(config.data_dir)
    public = keys.public_bytes(key)
    public_b64 = keys.b64(public)
    proof = keys.sign(key, keys.ENROL_CONTEXT, f"{token}\n{public_b64}".encode())
    body = canonical_bytes({"token": token, "public_key": public_b64, "proof": proof})
    try:
        answer = _checked_answer(_post(send, base + "/api/v1/enrol", body, {}, config), keys.key_id(public))
    except EnrolmentError as error:
        if "revoked_key" in str(error) and not new_key:
            raise EnrolmentError(f"{error}; enrol with a new key: "
                                 "epn enrol --new-key HUB_URL TOKEN") from None
        raise
    # The link names the new key first; signing_key() finishes an interrupted file move.
    next_sequence, superseded = _store_link(base, answer)
    if new_key:
        os.replace(new_key_path(config.data_dir), keys.key_path(config.data_dir))
    return Enrolment(answer["hub"], answer["epn"], answer["key_id"], answer["fingerprint"],
                     keys.fingerprint(public), next_sequence, superseded)


def _store_link(base: str, answer: dict[str, Any]) -> tuple[int, int]:
    """Write the link; reports queued for another hub, EPN id or key are parked unsent."""
    now = _utc_now()
    with database.atomic("IMMEDIATE"):
        link = find_link()
        same_epn = link is not None and (link.hub_id, link.epn_id) == (answer["hub"], answer["epn"])
        same_key = same_epn and link is not None and link.key_id == answer["key_id"]
        superseded = 0 if same_key else outbox.supersede_pending(
            now, f"not sent: the appliance enrolled again (hub {answer['hub']}, EPN {answer['epn']})")
        local_last = OutboxReport.select(fn.MAX(OutboxReport.sequence)).scalar() or 0
        # Sequence numbers only go up: past the hub's last, and past every local row.
        next_sequence = max(answer["last_sequence"], local_last) + 1
        values: dict[str, Any] = {
            "hub_url": base, "hub_id": answer["hub"], "epn_id": answer["epn"],
            "key_id": answer["key_id"], "next_sequence": next_sequence, "revoked_at": None,
            "built_on": None,
        }
        if not same_epn:
            # A new hub or EPN id: earlier reports are history, its periods are reported anew.
            values.update(enrolled_at=now, first_sequence=next_sequence)
        if link is None:
            FederationLink.create(**values)
        else:
            FederationLink.update(**values).where(FederationLink.id == link.id).execute()
    return next_sequence, superseded


def _staged_key(config: Config) -> Ed25519PrivateKey:
    """The next key, written before the hub hears of it so that it is never lost
    (an interrupted rotation or enrolment reuses it)."""
    path = new_key_path(config.data_dir)
    if path.exists():
        return keys.load_key(path)
    return keys.write_new_key(path)


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    new_fingerprint: str


def rotate_key(config: Config, send: Sender = http.post) -> Rotation:
    """Replace the signing key: the hub is told, with both signatures, then we switch.

    Refused while reports wait to be sent: they are signed with the current key, which the
    hub stops accepting once it knows the new one (a pending report is never re-signed).
    A rotation that may have reached the hub before it was interrupted (its new key is
    still staged) is always tried again: the hub answers it again, and reports signed
    with the old key meanwhile are set aside unsent, their periods built again.
    """
    link = current_link()
    retrying = new_key_path(config.data_dir).exists()
    if link.revoked_at is not None and not retrying:
        raise FederationError("the hub has refused this appliance's key: "
                              "enrol again with `epn enrol --new-key HUB_URL TOKEN`")
    waiting = outbox.pending_count()
    if waiting and not retrying:
        raise FederationError(f"{waiting} report(s) wait to be sent with the current key: "
                              "run `epn push` first")
    old = signing_key(config.data_dir, link)
    new = _staged_key(config)
    new_public = keys.public_bytes(new)
    body = canonical_bytes({"epn": link.epn_id, "old_key_id": link.key_id,
                            "new_public_key": keys.b64(new_public), "created_at": _utc_text(_utc_now())})
    headers = {"EPN-Key-Id": link.key_id,
               "EPN-Signature-Old": keys.sign(old, keys.ROTATE_CONTEXT, body),
               "EPN-Signature-New": keys.sign(new, keys.ROTATE_CONTEXT, body)}
    response = _post(send, link.hub_url + "/api/v1/keys/rotate", body, headers, config)
    if not 200 <= response.status < 300:
        raise FederationError(f"the hub refused the new key: {_hub_reason(response)}")
    new_id = keys.key_id(new_public)
    # The link names the new key first; signing_key() finishes an interrupted file move.
    with database.atomic("IMMEDIATE"):
        FederationLink.update(key_id=new_id, revoked_at=None).where(FederationLink.id == link.id).execute()
        outbox.supersede_pending(_utc_now(), "not sent: signed with a key replaced since")
    os.replace(new_key_path(config.data_dir), keys.key_path(config.data_dir))
    return Rotation(link.key_id, new_id, keys.fingerprint(new_public))
