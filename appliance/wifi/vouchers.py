"""Wi-Fi vouchers: sheets of one-off codes staff print (e.g. for a workshop group).

A voucher opens a session of its own length on as many devices as it allows (one by
default). Revoking it ends the sessions it opened at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from peewee import IntegrityError

from appliance.db import database
from appliance.errors import N_, InvalidInput
from appliance.models import WifiVoucher

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: codes are read aloud and typed on phones.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8
MAX_SHEET = 200


def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def clean_code(text: str) -> str:
    """What a visitor typed, without spaces or dashes, upper case."""
    return "".join(ch for ch in str(text or "").upper() if ch.isalnum())


def display(code: str) -> str:
    """ABCD-EFGH: easier to read aloud and to copy."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def create_vouchers(count: int, minutes: int, batch: str = "", uses_allowed: int = 1) -> list[WifiVoucher]:
    """A sheet of `count` new vouchers of `minutes` each."""
    if not 1 <= count <= MAX_SHEET:
        raise InvalidInput("count", N_("Choose between 1 and %(max)s vouchers."), max=MAX_SHEET)
    if not 5 <= minutes <= 7 * 24 * 60:
        raise InvalidInput("minutes", N_("A voucher lasts between 5 minutes and 7 days."))
    if not 1 <= uses_allowed <= 100:
        raise InvalidInput("uses_allowed", N_("A voucher serves between 1 and 100 devices."))
    batch = (batch or "").strip()
    if len(batch) > 60:
        raise InvalidInput("batch", N_("At most %(max)s characters."), max=60)
    made = []
    with database.atomic():
        while len(made) < count:
            try:
                with database.atomic():
                    made.append(WifiVoucher.create(code=new_code(), batch=batch, minutes=minutes,
                                                   uses_allowed=uses_allowed))
            except IntegrityError:
                continue  # the same code drawn twice: draw again
    return made


def usable_voucher(text: str) -> WifiVoucher:
    """The voucher a visitor typed, if it can still open a session; InvalidInput otherwise.
    The message is the same for unknown, used up and revoked codes (no guessing aid)."""
    code = clean_code(text)
    voucher = WifiVoucher.get_or_none(WifiVoucher.code == code) if code else None
    if voucher is None or voucher.revoked_at is not None or voucher.uses >= voucher.uses_allowed:
        raise InvalidInput("code", N_("This code is not valid or was already used. Ask at the desk."))
    return voucher


def use_voucher(voucher: WifiVoucher) -> None:
    """Count one device on the voucher, atomically (two phones typing it at once: one wins)."""
    updated = (WifiVoucher.update(uses=WifiVoucher.uses + 1)
               .where((WifiVoucher.id == voucher.id) & (WifiVoucher.uses < WifiVoucher.uses_allowed)
                      & WifiVoucher.revoked_at.is_null())
               .execute())
    if updated != 1:
        raise InvalidInput("code", N_("This code is not valid or was already used. Ask at the desk."))


def revoke_voucher(code: str, now: datetime) -> WifiVoucher:
    """Mark a voucher revoked; the caller ends its sessions (see sessions.revoke_voucher)."""
    voucher = WifiVoucher.get_or_none(WifiVoucher.code == clean_code(code))
    if voucher is None:
        raise InvalidInput("code", N_("No voucher has this code."))
    if voucher.revoked_at is None:
        voucher.revoked_at = now
        voucher.save()
    return voucher


def recent_vouchers(limit: int = 200) -> list[WifiVoucher]:
    return list(WifiVoucher.select().order_by(WifiVoucher.id.desc()).limit(limit))
