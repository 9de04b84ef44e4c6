"""The hub's own accounts (the coordination's dashboard) and the audit log of what they did.

These accounts are the hub's only personal data: a login and a display name per
coordinator, nothing about visitors. A disabled account is deleted once
`hub.account_retention_days` have passed; its audit entries stay, without it (the
actor's id is set to NULL), until `hub.audit_days`.

Passwords use the appliance's Argon2id hashing and rules (appliance.accounts).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    IntegrityError,
)

from appliance.accounts import (
    check_password_rules,
    hash_password,
    needs_rehash,
    verify_password,
    waste_time,
)
from appliance.errors import N_, InvalidInput
from appliance.federation.hub.db import HubModel, database, lock_for_update, write_transaction

# coordinator: reads the dashboard and exports; admin: also manages EPNs and accounts.
ROLES = ("coordinator", "admin")
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")


def _utcnow() -> datetime:
    from appliance.federation.hub.models import utcnow

    return utcnow()


class HubAccount(HubModel):
    """A member of the regional coordination who may sign in to the dashboard."""

    login = CharField(max_length=40, unique=True)
    display_name = CharField(max_length=80)
    password_hash = CharField(max_length=255)
    role = CharField(max_length=16, default="coordinator")
    active = BooleanField(default=True)
    # Incremented at logout or password change: every older session cookie stops working.
    session_epoch = IntegerField(default=0)
    failed_logins = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    created_at = DateTimeField(default=_utcnow)
    last_login_at = DateTimeField(null=True)
    disabled_at = DateTimeField(null=True)

    class Meta:
        table_name = "hub_account"


class AuditEntry(HubModel):
    """One administrative action: who (an account, NULL once it is deleted), what, on what."""

    at = DateTimeField(default=_utcnow, index=True)
    account = ForeignKeyField(HubAccount, null=True, on_delete="SET NULL", backref="audit")
    action = CharField(max_length=40)
    target = CharField(max_length=64, default="")
    # A short machine-made summary (codes, ids, old -> new); never typed free text.
    detail = CharField(max_length=200, default="")

    class Meta:
        table_name = "hub_audit_entry"


def create_account(login: str, password: str, role: str = "coordinator", display_name: str = "",
                   ) -> HubAccount:
    """Create an account; InvalidInput says what is wrong."""
    login = login.strip().lower()
    if not _LOGIN.match(login):
        raise InvalidInput(
            "username",
            N_("A username has 2 to 40 characters: lowercase letters, digits, '.', '_' or '-'."),
        )
    if role not in ROLES:
        raise InvalidInput("role", N_("The role must be coordinator or admin."))
    check_password_rules(password)
    try:
        with database.atomic():
            return HubAccount.create(login=login, display_name=(display_name or login).strip()[:80],
                                     password_hash=hash_password(password), role=role)
    except IntegrityError:
        raise InvalidInput("username", N_("This username is already taken.")) from None


def authenticate(login: str, password: str, max_attempts: int, lockout: timedelta, now: datetime,
                 ) -> HubAccount | None:
    """The active account with these credentials, or None; repeated failures lock it.
    `now` is naive UTC."""
    account = HubAccount.get_or_none(HubAccount.login == login.strip().lower())
    if account is None or not account.active:
        waste_time(password)
        return None
    if account.locked_until and account.locked_until > now:
        return None
    if not verify_password(account.password_hash, password):
        failed = account.failed_logins + 1
        locked = now + lockout if failed >= max_attempts else None
        HubAccount.update(failed_logins=0 if locked else failed, locked_until=locked).where(
            HubAccount.id == account.id).execute()
        return None
    changes: dict = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if needs_rehash(account.password_hash):
        changes["password_hash"] = hash_password(password)
    HubAccount.update(**changes).where(HubAccount.id == account.id).execute()
    return account


def is_locked(login: str, now: datetime) -> bool:
    account = HubAccount.get_or_none(HubAccount.login == login.strip().lower())
    return bool(account and account.locked_until and account.locked_until > now)


def end_sessions(account_id: int) -> None:
    """Invalidate every session cookie of this account (logout, password change)."""
    HubAccount.update(session_epoch=HubAccount.session_epoch + 1).where(HubAccount.id == account_id).execute()


def audit(account: HubAccount | int | None, action: str, target: str = "", detail: str = "",
          now: datetime | None = None) -> AuditEntry:
    """Record an administrative action (call it inside the action's transaction)."""
    account_id = account.id if isinstance(account, HubAccount) else account
    return AuditEntry.create(at=now or _utcnow(), account=account_id, action=action[:40], target=target[:64],
                             detail=detail[:200])


# --- Administration: every change is audited in its own transaction ---------------------------

# Who acted, when no signed-in account did: the detail of the audit entry starts with it.
CLI = "cli"
AUTOMATIC = "auto"


def _detail(origin: str, detail: str) -> str:
    return f"{origin}; {detail}" if origin and detail else origin or detail


def get_account(account_id: int) -> HubAccount:
    from appliance.errors import NotFound

    account = HubAccount.get_or_none(HubAccount.id == account_id)
    if account is None:
        raise NotFound(f"no account {account_id}")
    return account


def find_account(login: str) -> HubAccount:
    from appliance.errors import NotFound

    account = HubAccount.get_or_none(HubAccount.login == login.strip().lower())
    if account is None:
        raise NotFound(f"no account {login.strip().lower()!r}")
    return account


def add_account(actor: HubAccount | None, login: str, password: str, role: str = "coordinator",
                display_name: str = "", origin: str = "") -> HubAccount:
    """`create_account` with its audit entry, in one transaction."""
    display_name = display_name.strip()
    if len(display_name) > 80 or any(ord(c) < 32 for c in display_name):
        raise InvalidInput("display_name", N_("A display name has at most 80 characters."))
    with write_transaction():
        account = create_account(login, password, role, display_name)
        audit(actor, "account.add", account.login, _detail(origin, f"role={role}"))
    return account


def _active_admins(excluding: int) -> int:
    """Other active admins, their rows locked until the transaction ends (PostgreSQL), so two
    admins demoting each other at once cannot leave none."""
    query = HubAccount.select(HubAccount.id).where((HubAccount.role == "admin") & HubAccount.active
                                                   & (HubAccount.id != excluding))
    return len(list(lock_for_update(query)))


def _check_not_last_admin(account: HubAccount, field: str) -> None:
    if account.role == "admin" and account.active and _active_admins(account.id) == 0:
        raise InvalidInput(field, N_("The hub needs at least one active admin account: make another "
                                     "account admin first."))


def set_active(actor: HubAccount | None, account_id: int, active: bool, now: datetime,
               origin: str = "") -> HubAccount:
    """Disable an account (its sessions end; deleted after the retention) or enable it again.
    Nobody disables their own account, nor the last active admin."""
    with write_transaction():
        account = get_account(account_id)
        if account.active == active:
            return account
        if not active:
            if actor is not None and account.id == actor.id:
                raise InvalidInput("account", N_("You cannot disable your own account."))
            _check_not_last_admin(account, "account")
        HubAccount.update(active=active, disabled_at=None if active else now,
                          session_epoch=HubAccount.session_epoch + 1, failed_logins=0,
                          locked_until=None).where(HubAccount.id == account.id).execute()
        audit(actor, "account.enable" if active else "account.disable", account.login, _detail(origin, ""),
              now=now)
    return get_account(account_id)


def set_role(actor: HubAccount | None, account_id: int, role: str, origin: str = "") -> HubAccount:
    """Make an account coordinator or admin; the last active admin stays admin."""
    if role not in ROLES:
        raise InvalidInput("role", N_("The role must be coordinator or admin."))
    with write_transaction():
        account = get_account(account_id)
        if account.role == role:
            return account
        if role != "admin":
            _check_not_last_admin(account, "role")
        HubAccount.update(role=role).where(HubAccount.id == account.id).execute()
        audit(actor, "account.role", account.login, _detail(origin, f"{account.role} -> {role}"))
    return get_account(account_id)


def set_password(actor: HubAccount | None, account_id: int, password: str, origin: str = "") -> HubAccount:
    """A new password: the account's sessions end and a lockout is lifted."""
    check_password_rules(password)
    with write_transaction():
        account = get_account(account_id)
        HubAccount.update(password_hash=hash_password(password), session_epoch=HubAccount.session_epoch + 1,
                          failed_logins=0, locked_until=None).where(HubAccount.id == account.id).execute()
        audit(actor, "account.password", account.login, _detail(origin, ""))
    return get_account(account_id)


def purge(now: datetime, account_retention_days: int, audit_days: int) -> tuple[int, int]:
    """Delete accounts disabled for more than `account_retention_days` and audit entries
    older than `audit_days`; return how many of each. Audited when it deleted anything."""
    with write_transaction():
        accounts = HubAccount.delete().where(
            ~HubAccount.active & HubAccount.disabled_at.is_null(False)
            & (HubAccount.disabled_at < now - timedelta(days=account_retention_days))).execute()
        entries = AuditEntry.delete().where(AuditEntry.at < now - timedelta(days=audit_days)).execute()
        if accounts or entries:
            audit(None, "purge", "", _detail(AUTOMATIC, f"accounts={accounts} audit_entries={entries}"), now=now)
    return accounts, entries
