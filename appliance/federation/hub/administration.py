"""The hub's administrative actions on EPNs, each audited in its own transaction.

The administration pages and `epn hub ...` commands call these, never epns.py directly,
so that every action leaves one audit entry (who, when, what, on what) or none at all.
`actor` is the signed-in admin account, or None with `origin` = accounts.CLI for a command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from appliance.errors import N_, InvalidInput
from appliance.federation import keys
from appliance.federation.hub import epns
from appliance.federation.hub.accounts import HubAccount, _detail, audit
from appliance.federation.hub.db import write_transaction
from appliance.federation.hub.models import EPN, ORGANISERS, EnrolmentToken, Key
from appliance.municipalities import normalise_commune


def add_epn(actor: HubAccount | None, name: str, commune: str, postal_code: str, organiser: str,
            now: datetime, token_hours: int, origin: str = "") -> tuple[EPN, str]:
    """Add an EPN; return it and its one-time enrolment token (shown once)."""
    with write_transaction():
        epn, token = epns.add_epn(name, commune, postal_code, organiser, now, token_hours)
        audit(actor, "epn.add", epn.id, _detail(origin, f"commune={epn.commune} organiser={epn.organiser}"),
              now=epns.naive_utc(now))
    return epn, token


def new_enrolment_token(actor: HubAccount | None, epn_id: str, now: datetime, token_hours: int,
                        origin: str = "") -> str:
    """Another one-time enrolment token (a new appliance, a lost token, after a revocation)."""
    with write_transaction():
        token = epns.new_enrolment_token(epn_id, now, token_hours)
        audit(actor, "epn.token", epn_id, _detail(origin, f"valid_hours={token_hours}"), now=epns.naive_utc(now))
    return token


def revoke_key(actor: HubAccount | None, key_id: str, now: datetime, origin: str = "") -> Key:
    """Revoke a key at once: the next report signed with it is refused."""
    with write_transaction():
        already = Key.get_or_none(Key.key_id == key_id.strip().lower())
        key = epns.revoke_key(key_id, now)
        if already is None or already.revoked_at is None:
            audit(actor, "key.revoke", key.epn_id, _detail(origin, f"key={key.key_id}"), now=epns.naive_utc(now))
    return key


def rotate_from_hub(actor: HubAccount | None, epn_id: str, now: datetime, token_hours: int,
                    origin: str = "") -> str:
    """The hub's side of a key change: revoke the EPN's live key(s) and issue a new enrolment
    token, with which the appliance enrols a new key (`epn enrol HUB_URL TOKEN`)."""
    with write_transaction():
        epn = epns.get_epn(epn_id)
        if not epn.active:
            raise InvalidInput("epn", N_("EPN %(epn)s is retired."), epn=epn_id)
        live = [key.key_id for key in Key.select(Key.key_id).where((Key.epn == epn.id) & Key.revoked_at.is_null())]
        for key_id in live:
            epns.revoke_key(key_id, now)
        token = epns.new_enrolment_token(epn_id, now, token_hours)
        audit(actor, "key.rotate", epn_id, _detail(origin, "revoked=" + (",".join(live) or "none")),
              now=epns.naive_utc(now))
    return token


def retire(actor: HubAccount | None, epn_id: str, now: datetime, origin: str = "") -> EPN:
    """An EPN that closed: no report expected any more, its keys revoked; its reports stay
    in the figures."""
    with write_transaction():
        epn = epns.get_epn(epn_id)
        if not epn.active:
            return epn
        epn = epns.deactivate_epn(epn_id, now)  # its enrolment tokens are refused from now on
        audit(actor, "epn.retire", epn_id, _detail(origin, ""), now=epns.naive_utc(now))
    return epn


def reactivate(actor: HubAccount | None, epn_id: str, now: datetime, origin: str = "") -> EPN:
    """Undo a retirement: reports are expected again once it enrols a new key."""
    with write_transaction():
        epn = epns.get_epn(epn_id)
        if epn.active:
            return epn
        EPN.update(active=True).where(EPN.id == epn_id).execute()
        audit(actor, "epn.reactivate", epn_id, _detail(origin, ""), now=epns.naive_utc(now))
    return epns.get_epn(epn_id)


def correct_identity(actor: HubAccount | None, epn_id: str, name: str, commune: str, postal_code: str,
                     organiser: str, now: datetime, origin: str = "") -> EPN:
    """Correct an EPN's name, municipality (NIS code or name), postal code or organiser.
    The audit entry names the fields changed and the codes, old -> new."""
    name = epns._clean_name(name)
    try:
        nis_code = normalise_commune(commune)
    except LookupError:
        raise InvalidInput("commune", N_("Unknown municipality: give its 5-digit NIS code or its French or "
                                         "Dutch name.")) from None
    postal_code = epns._clean_postal_code(postal_code)
    if organiser not in ORGANISERS:
        raise InvalidInput("organiser", N_("The organiser is one of: %(choices)s."), choices=", ".join(ORGANISERS))
    with write_transaction():
        epn = epns.get_epn(epn_id)
        new = {"name": name, "commune": nis_code, "postal_code": postal_code, "organiser": organiser}
        changed = {field: value for field, value in new.items() if getattr(epn, field) != value}
        if not changed:
            return epn
        EPN.update(**changed).where(EPN.id == epn_id).execute()
        parts = [field if field == "name" else f"{field} {getattr(epn, field)} -> {value}"
                 for field, value in changed.items()]
        audit(actor, "epn.correct", epn_id, _detail(origin, "; ".join(parts)), now=epns.naive_utc(now))
    return epns.get_epn(epn_id)


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    fingerprint: str
    created_at: datetime
    revoked_at: datetime | None
    replaced_by: str | None


def keys_of(epn_id: str) -> list[KeyRow]:
    """The EPN's keys, newest first (revoked ones stay listed)."""
    return [KeyRow(k.key_id, keys.fingerprint(bytes(k.public_key)), k.created_at, k.revoked_at, k.replaced_by)
            for k in Key.select().where(Key.epn == epn_id).order_by(Key.created_at.desc(), Key.id.desc())]


def pending_tokens(epn_id: str, now: datetime) -> int:
    """Enrolment tokens of this EPN still usable."""
    return EnrolmentToken.select().where((EnrolmentToken.epn == epn_id) & EnrolmentToken.used_at.is_null()
                                         & (EnrolmentToken.expires_at > epns.naive_utc(now))).count()
