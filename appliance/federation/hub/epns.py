"""The EPNs of the region, their enrolment and their keys.

A coordinator adds an EPN (`epn hub add-epn`) and gets a one-time enrolment token;
the appliance enrols its Ed25519 public key with that token and a proof of possession;
the hub keeps one live key per EPN, replaced by rotation (signed by both keys) or by a
new enrolment, and revoked at once by `epn hub revoke-key`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance import tokens
from appliance.errors import N_, InvalidInput, NotFound
from appliance.federation import keys
from appliance.federation.hub.db import execute, lock_for_update, write_transaction
from appliance.federation.hub.errors import Refused
from appliance.federation.hub.models import EPN, ORGANISERS, EnrolmentToken, Key, Report
from appliance.municipalities import normalise_commune

_EPN_ID = re.compile(r"^epn-(\d+)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def naive_utc(moment: datetime) -> datetime:
    """Timestamps are stored as naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


# Tokens carry 192 random bits or more: a plain SHA-256 is enough, no slow hash needed.
token_digest = tokens.digest


def _clean_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100 or _CONTROL.search(name):
        raise InvalidInput("name", N_("Give the EPN a name of 1 to 100 characters."))
    return name


def _clean_postal_code(postal_code: str) -> str:
    text = postal_code.strip()
    if not (text.isdigit() and len(text) == 4):
        raise InvalidInput("postal_code", N_("A postal code has 4 digits."))
    return text


def _next_epn_id() -> str:
    numbers = [int(m[1]) for (epn_id,) in EPN.select(EPN.id).tuples() if (m := _EPN_ID.match(epn_id))]
    return f"epn-{max(numbers, default=0) + 1}"


def add_epn(name: str, commune: str, postal_code: str, organiser: str, now: datetime,
            token_hours: int) -> tuple[EPN, str]:
    """Add an EPN; return it and its first enrolment token (shown once, stored hashed)."""
    name = _clean_name(name)
    try:
        nis_code = normalise_commune(commune)
    except LookupError as error:
        raise InvalidInput("commune", str(error)) from None
    postal_code = _clean_postal_code(postal_code)
    if organiser not in ORGANISERS:
        raise InvalidInput("organiser", N_("The organiser is one of: %(choices)s."),
                           choices=", ".join(ORGANISERS))
    with write_transaction():
        epn = EPN.create(id=_next_epn_id(), name=name, commune=nis_code, postal_code=postal_code,
                         organiser=organiser, created_at=naive_utc(now))
        token = _issue_token(epn, now, token_hours)
    return epn, token


ENROLMENT_TOKEN_PREFIX = "enrol_"


def enrolment_token() -> str:
    """A fresh one-time enrolment token: `enrol_` and 192 random bits (URL-safe base64).

    The prefix keeps the token from ever starting with "-" (one bare token_urlsafe in 64
    does), which `epn enrol HUB_URL TOKEN` would take for an option, and tells it apart
    from other secrets. Tokens issued before the prefix still work: the hub only compares
    hashes of the whole string.
    """
    return ENROLMENT_TOKEN_PREFIX + secrets.token_urlsafe(24)


def _issue_token(epn: EPN, now: datetime, hours: int) -> str:
    token = enrolment_token()
    EnrolmentToken.create(epn=epn, token_hash=token_digest(token), created_at=naive_utc(now),
                          expires_at=naive_utc(now + timedelta(hours=hours)))
    return token


def new_enrolment_token(epn_id: str, now: datetime, hours: int) -> str:
    """Another one-time token for an existing EPN (a new appliance, a revoked key)."""
    epn = get_epn(epn_id)
    if not epn.active:
        raise InvalidInput("epn", N_("EPN %(epn)s is deactivated."), epn=epn_id)
    return _issue_token(epn, now, hours)


def get_epn(epn_id: str) -> EPN:
    epn = EPN.get_or_none(EPN.id == epn_id)
    if epn is None:
        raise NotFound(f"no EPN {epn_id!r}")
    return epn


@lru_cache(maxsize=4096)
def public_key_object(raw: bytes) -> Ed25519PublicKey:
    """Loading a key costs more than verifying with it: each is loaded once per process.

    Keyed by the raw bytes (immutable), so revocation, which is read from the database on
    every request, can never be hidden by this cache.
    """
    return keys.public_key_from_bytes(raw)


@dataclass(frozen=True)
class KnownKey:
    key_id: str
    epn_id: str
    public: Ed25519PublicKey
    revoked: bool
    replaced_by: str | None


def find_key(key_id: str) -> KnownKey | None:
    """The enrolled key `key_id` (revoked or not), or None: one indexed query.

    Anything but 16 lowercase hex digits is no key id, and never reaches the database
    (PostgreSQL refuses a NUL in a string with an error, not an empty answer)."""
    if not _KEY_ID.fullmatch(key_id):
        return None
    row = execute('SELECT "key_id", "epn_id", "public_key", "revoked_at", "replaced_by" FROM "hub_key" '
                  'WHERE "key_id" = ?', (key_id,)).fetchone()
    if row is None:
        return None
    key_id, epn_id, raw, revoked_at, replaced_by = row
    return KnownKey(key_id, epn_id, public_key_object(bytes(raw)), revoked_at is not None, replaced_by)


def _decode_public_key(text: Any) -> bytes:
    try:
        raw = keys.unb64(text) if isinstance(text, str) else b""
        if len(raw) == 32:
            keys.public_key_from_bytes(raw)
            return raw
    except ValueError:
        pass
    raise Refused(400, "malformed", "public_key must be the base64 of a 32-byte Ed25519 public key")


def enrol(body: Any, hub_name: str, now: datetime) -> dict[str, Any]:
    """Enrol an appliance's key with a one-time token and a proof of possession."""
    if not isinstance(body, dict) or set(body) != {"token", "public_key", "proof"} or not all(
            isinstance(value, str) for value in body.values()):
        raise Refused(400, "malformed", "expected {\"token\", \"public_key\", \"proof\"}, all strings")
    raw = _decode_public_key(body["public_key"])
    signed = (body["token"] + "\n" + body["public_key"]).encode("utf-8")
    if not keys.verify(public_key_object(raw), keys.ENROL_CONTEXT, signed, body["proof"]):
        raise Refused(401, "bad_proof", "the proof does not verify with this public key")
    with write_transaction():
        token = _usable_token(body["token"], now)
        key = _register_key(token.epn, raw, now)
        EnrolmentToken.update(used_at=naive_utc(now)).where(EnrolmentToken.id == token.id).execute()
        epn = EPN.get_by_id(token.epn_id)
        if epn.enrolled_at is None:
            epn.enrolled_at = naive_utc(now)
            epn.save(only=[EPN.enrolled_at])
    return {"hub": hub_name, "epn": epn.id, "key_id": key.key_id,
            "fingerprint": keys.fingerprint(raw), "last_sequence": epn.last_sequence}


def _usable_token(token: str, now: datetime) -> EnrolmentToken:
    query = EnrolmentToken.select().where(EnrolmentToken.token_hash == token_digest(token))
    row = lock_for_update(query).first()
    if row is None:
        raise Refused(401, "unknown_token", "this enrolment token is not known here")
    if row.used_at is not None:
        raise Refused(401, "used_token", "this enrolment token has been used already")
    if row.expires_at <= naive_utc(now):
        raise Refused(401, "expired_token", "this enrolment token has expired: ask for a new one")
    if not row.epn.active:
        raise Refused(401, "unknown_token", "this EPN is deactivated")
    return row


def _register_key(epn: EPN, raw: bytes, now: datetime) -> Key:
    """The EPN's key from now on; its other keys are retired (one live key per EPN)."""
    key_id = keys.key_id(raw)
    existing = Key.get_or_none(Key.key_id == key_id)
    if existing is not None and existing.epn_id != epn.id:
        raise Refused(409, "key_in_use", "this key is enrolled for another EPN: make a new key")
    if existing is not None and existing.revoked_at is not None:
        raise Refused(401, "revoked_key", "this key was revoked: make a new key and enrol it")
    (Key.update(revoked_at=naive_utc(now))
     .where((Key.epn == epn.id) & Key.revoked_at.is_null() & (Key.key_id != key_id)).execute())
    return existing or Key.create(epn=epn, key_id=key_id, public_key=raw, created_at=naive_utc(now))


def revoke_key(key_id: str, now: datetime) -> Key:
    """Revoke a key at once: the next request signed with it is refused (401)."""
    key = Key.get_or_none(Key.key_id == key_id.strip().lower())
    if key is None:
        raise NotFound(f"no key {key_id!r}")
    if key.revoked_at is None:
        Key.update(revoked_at=naive_utc(now)).where(Key.id == key.id).execute()
        key.revoked_at = naive_utc(now)
    return key


def deactivate_epn(epn_id: str, now: datetime) -> EPN:
    """An EPN that closed: no report expected from it any more, its keys revoked."""
    epn = get_epn(epn_id)
    with write_transaction():
        EPN.update(active=False).where(EPN.id == epn.id).execute()
        Key.update(revoked_at=naive_utc(now)).where((Key.epn == epn.id) & Key.revoked_at.is_null()).execute()
    epn.active = False
    return epn


@dataclass(frozen=True)
class EpnRow:
    """One line of `epn hub list-epns`."""

    id: str
    name: str
    commune: str
    postal_code: str
    organiser: str
    active: bool
    fingerprint: str
    last_period: str
    last_received_at: datetime | None
    last_sequence: int


def list_epns() -> list[EpnRow]:
    live = {epn_id: bytes(raw) for epn_id, raw in
            Key.select(Key.epn, Key.public_key).where(Key.revoked_at.is_null()).tuples()}
    rows = []
    for epn in EPN.select().order_by(EPN.created_at, EPN.id):
        last = (Report.select(Report.period, Report.received_at).where(Report.epn == epn.id)
                .order_by(Report.received_at.desc(), Report.id.desc()).first())
        raw = live.get(epn.id)
        rows.append(EpnRow(epn.id, epn.name, epn.commune, epn.postal_code, epn.organiser, epn.active,
                           keys.fingerprint(raw) if raw else "", last.period if last else "",
                           last.received_at if last else None, epn.last_sequence))
    return rows


ROTATION_FIELDS = {"epn", "old_key_id", "new_public_key", "created_at"}


def rotate_key(raw_body: bytes, old_signature: str, new_signature: str, now: datetime,
               key_id_header: str = "") -> dict[str, Any]:
    """Replace an EPN's key by a new one; the body is signed by both (`epn-rotate/1`).

    With an `EPN-Key-Id` header the old key's signature is verified over the raw bytes
    before they are parsed; without one, the small body (bounded by the view) is parsed
    strictly first to learn which key signs it. A rotation retried after a lost answer is
    answered again (`duplicate`) instead of being refused as revoked.
    """
    from appliance.federation.canonical import CanonicalError, parse_strict

    named = _verified_rotation_key(raw_body, old_signature, key_id_header) if key_id_header else None
    try:
        body = parse_strict(raw_body)
    except CanonicalError as error:
        raise Refused(400, "malformed", str(error)) from None
    if not isinstance(body, dict) or set(body) != ROTATION_FIELDS or not all(
            isinstance(value, str) for value in body.values()):
        raise Refused(400, "malformed", "expected the strings " + ", ".join(sorted(ROTATION_FIELDS)))
    old = named or find_key(body["old_key_id"])
    if old is None:
        raise Refused(401, "unknown_key", "old_key_id is not enrolled here")
    if old.key_id != body["old_key_id"] or old.epn_id != body["epn"]:
        raise Refused(422, "wrong_epn", "old_key_id and epn must name the key that signs")
    new_raw = _decode_public_key(body["new_public_key"])
    if not (keys.verify(old.public, keys.ROTATE_CONTEXT, raw_body, old_signature)
            and keys.verify(public_key_object(new_raw), keys.ROTATE_CONTEXT, raw_body, new_signature)):
        raise Refused(401, "bad_signature", "both keys must sign the body (EPN-Signature-Old, EPN-Signature-New)")
    new_id = keys.key_id(new_raw)
    if old.revoked and old.replaced_by != new_id:
        raise Refused(401, "revoked_key", "old_key_id is revoked")
    _check_rotation_clock(body["created_at"], now)
    status = "duplicate" if old.revoked else _replace_key(old, new_raw, now)
    epn = get_epn(old.epn_id)
    return {"status": status, "epn": epn.id, "key_id": new_id, "fingerprint": keys.fingerprint(new_raw),
            "last_sequence": epn.last_sequence}


def _verified_rotation_key(raw_body: bytes, old_signature: str, key_id: str) -> KnownKey:
    key = find_key(key_id.strip())
    if key is None:
        raise Refused(401, "unknown_key", "EPN-Key-Id names no key enrolled here")
    if not keys.verify(key.public, keys.ROTATE_CONTEXT, raw_body, old_signature):
        raise Refused(401, "bad_signature", "EPN-Signature-Old does not verify over the body")
    return key


def _check_rotation_clock(created_at: str, now: datetime) -> None:
    try:
        created = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused(400, "malformed", "created_at must look like 2026-11-24T03:00:00Z") from None
    if created > now + timedelta(minutes=2):
        raise Refused(422, "clock", "created_at is in the future")


def _replace_key(old: KnownKey, new_raw: bytes, now: datetime) -> str:
    new_id = keys.key_id(new_raw)
    with write_transaction():
        row = lock_for_update(Key.select().where(Key.key_id == old.key_id)).first()
        if row.revoked_at is not None:  # another request rotated it a moment ago
            raise Refused(401, "revoked_key", "old_key_id is revoked")
        if Key.get_or_none(Key.key_id == new_id) is not None:
            raise Refused(409, "key_in_use", "the new key is already enrolled: make a new key")
        Key.update(revoked_at=naive_utc(now), replaced_by=new_id).where(Key.id == row.id).execute()
        Key.create(epn=row.epn_id, key_id=new_id, public_key=new_raw, created_at=naive_utc(now))
    return "rotated"
