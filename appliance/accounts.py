"""Staff accounts (mediators, coordinators) and API tokens."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import IntegrityError
from werkzeug.security import check_password_hash

from appliance import tokens
from appliance.db import database
from appliance.errors import N_, InvalidInput
from appliance.models import ApiToken, StaffUser, utcnow

ROLES = ("mediator", "coordinator")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
# Argon2id with OWASP's minimum parameters (19 MiB, 2 passes): slow for an attacker,
# about 0.1 s on a Raspberry Pi 4 for a sign-in.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)



@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against when the username is unknown, so both cases take the same time.
    Made on first use: importing this module costs no hashing."""
    return _HASHER.hash("not-a-real-password-used-for-timing")


def waste_time(password: str) -> None:
    """Take as long for an unknown username as for a wrong password."""
    verify_password(_dummy_hash(), password)


def hash_password(password: str) -> str:
    """A slow, salted hash (Argon2id)."""
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Check a password against an Argon2id hash, or an older werkzeug (scrypt) hash."""
    if not stored.startswith("$argon2"):
        return check_password_hash(stored, password)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return not stored.startswith("$argon2") or _HASHER.check_needs_rehash(stored)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", N_("The password needs at least %(n)s characters."), n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("password", N_("The password is too long."))


def create_user(username: str, password: str, role: str, display_name: str = "") -> StaffUser:
    """Create a staff account; InvalidInput says what is wrong."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput(
            "username",
            N_("A username has 2 to 40 characters: lowercase letters, digits, '.', '_' or '-'."),
        )
    if role not in ROLES:
        raise InvalidInput("role", N_("The role must be mediator or coordinator."))
    check_password_rules(password)
    display_name = (display_name or username).strip()[:80]
    try:
        with database.atomic():
            return StaffUser.create(
                username=username,
                display_name=display_name,
                password_hash=hash_password(password),
                role=role,
            )
    except IntegrityError:
        raise InvalidInput("username", N_("This username is already taken.")) from None


def authenticate(
    username: str, password: str, max_attempts: int, lockout: timedelta, now: datetime | None = None
) -> StaffUser | None:
    """The active user with these credentials, or None; repeated failures lock the account."""
    now = now or utcnow()
    user = StaffUser.get_or_none(StaffUser.username == username.strip().lower())
    if user is None or not user.active:
        waste_time(password)
        return None
    if user.locked_until and user.locked_until > now:
        return None
    if not verify_password(user.password_hash, password):
        failed = user.failed_logins + 1
        locked = now + lockout if failed >= max_attempts else None
        StaffUser.update(
            failed_logins=0 if locked else failed, locked_until=locked
        ).where(StaffUser.id == user.id).execute()
        return None
    changes = {}
    if user.failed_logins or user.locked_until:
        changes.update(failed_logins=0, locked_until=None)
    if needs_rehash(user.password_hash):
        # An account from an older release moves to the current hash at its next sign-in.
        changes["password_hash"] = hash_password(password)
    if changes:
        StaffUser.update(**changes).where(StaffUser.id == user.id).execute()
    return user


def is_locked(username: str, now: datetime | None = None) -> bool:
    user = StaffUser.get_or_none(StaffUser.username == username.strip().lower())
    return bool(user and user.locked_until and user.locked_until > (now or utcnow()))


def end_sessions(user_id: int) -> None:
    """Invalidate every session cookie of this user (logout, password change)."""
    StaffUser.update(session_epoch=StaffUser.session_epoch + 1).where(
        StaffUser.id == user_id
    ).execute()


def active_staff() -> list[StaffUser]:
    return list(StaffUser.select().where(StaffUser.active).order_by(StaffUser.display_name))


def create_token(name: str) -> str:
    """Create an API token for /api/v1/ and return it; only its hash is stored."""
    return tokens.create(ApiToken, "epn", name)


def check_token(token: str) -> ApiToken | None:
    """The live token matching `token`, or None."""
    return tokens.check(ApiToken, "epn", token, utcnow())
