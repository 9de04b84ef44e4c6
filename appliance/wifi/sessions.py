"""Wi-Fi sessions: accepting the house rules (or a voucher), resuming on a new address,
ending, restoring after a reboot, and keeping the figures up to date.

A session is identified by its own row and a short resume code shown at acceptance, not
by the device's MAC address: a phone that randomises its MAC (or gets a new IP address)
types the code on the portal and takes its session along. The firewall holds the
addresses with a timeout, so the kernel ends a session even if the appliance is busy;
the database holds what a reboot needs to restore them.

Times are naive UTC (as every DateTimeField here); `today` is the EPN's local day.
Addresses are never logged.
"""

from __future__ import annotations

import functools
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from appliance.db import database
from appliance.errors import N_, InvalidInput
from appliance.hardware.firewall import Firewall, normalise
from appliance.models import WifiPause, WifiSession, WifiVoucher
from appliance.wifi.bookings import booking_minutes
from appliance.wifi.vouchers import ALPHABET, clean_code, usable_voucher, use_voucher

if TYPE_CHECKING:
    from appliance.config import WifiConfig

RESUME_LENGTH = 6
# A house-rules session may be extended (accept again) when this close to its end.
EXTEND_WITHIN = timedelta(minutes=15)


class WifiPaused(Exception):
    """Staff paused the visitors' Wi-Fi: nobody is let in meanwhile."""


@dataclass(frozen=True)
class Client:
    """The device asking, as the portal sees it: its IP address and, if known, its MAC."""

    ip: str
    mac: str = ""

    @classmethod
    def of(cls, remote_addr: str, mac: str = "") -> Client:
        """From a request's remote address (an IPv4-mapped IPv6 address is IPv4)."""
        ip = ipaddress.ip_address((remote_addr or "").split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return cls(str(ip), normalise(mac)[1] if mac else "")

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.ip).version


@functools.lru_cache(maxsize=8)
def _networks(subnet_v4: str, subnet_v6: str) -> tuple:
    return tuple(ipaddress.ip_network(net) for net in (subnet_v4, subnet_v6) if net)


def in_visitor_network(ip: str, wifi: WifiConfig) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in net for net in _networks(wifi.subnet_v4, wifi.subnet_v6))


def addresses(session: WifiSession) -> list[str]:
    return [a for a in (session.ipv4, session.ipv6, session.mac) if a]


def _active(now: datetime):  # type: ignore[no-untyped-def]
    return WifiSession.ended_at.is_null() & (WifiSession.expires_at > now)


def current_session(client: Client, now: datetime) -> WifiSession | None:
    """The device's running session, found by its IP address (or its MAC when known)."""
    column = WifiSession.ipv4 if client.version == 4 else WifiSession.ipv6
    match = column == client.ip
    if client.mac:
        match |= WifiSession.mac == client.mac
    return WifiSession.select().where(_active(now) & match).order_by(WifiSession.id.desc()).first()


def active_sessions(now: datetime) -> list[WifiSession]:
    return list(WifiSession.select().where(_active(now)).order_by(WifiSession.expires_at))


def is_paused() -> bool:
    return WifiPause.select().where(WifiPause.ended_at.is_null()).exists()


def _new_resume_code(now: datetime) -> str:
    for _ in range(20):
        code = "".join(secrets.choice(ALPHABET) for _ in range(RESUME_LENGTH))
        if not WifiSession.select().where(_active(now) & (WifiSession.resume_code == code)).exists():
            return code
    raise RuntimeError("could not draw a free resume code")


def _grant(session: WifiSession, now: datetime, firewall: Firewall) -> None:
    seconds = int((session.expires_at - now).total_seconds())
    for address in addresses(session):
        firewall.allow(address, seconds)


def _set_address(session: WifiSession, client: Client) -> None:
    if client.version == 4:
        session.ipv4 = client.ip
    else:
        session.ipv6 = client.ip
    if client.mac:
        session.mac = client.mac


def accept(client: Client, now: datetime, today: date, wifi: WifiConfig, firewall: Firewall,
           voucher_code: str = "", local_now: datetime | None = None) -> WifiSession:
    """Open internet for the device that accepted the house rules (and typed a code: a
    voucher, or a booking code when `local_now` is given).

    A device that already has a session keeps it (accepting twice gives no extra time).
    With `wifi.daily_minutes`, house-rules sessions of one device (by MAC, else by IP) add
    up to that much a day. Nothing is recorded, and no voucher use counted, unless the
    firewall opened access."""
    if is_paused():
        raise WifiPaused()
    # One writer at a time: a double tap on two web workers opens one session, not two.
    with database.atomic("IMMEDIATE"):
        running = current_session(client, now)
        if running is not None and not voucher_code.strip():
            if can_extend(running, now) and running.expires_at - now <= EXTEND_WITHIN:
                running.expires_at = now + timedelta(minutes=wifi.session_minutes)
                running.save()
                _grant(running, now, firewall)
            return running
        kind, voucher, minutes = _access(client, voucher_code, now, today, wifi, local_now)
        if running is not None:  # a code typed on a running session: it replaces it
            _end(running, now, "ended", firewall)
        if voucher is not None:
            use_voucher(voucher)
        session = WifiSession(
            resume_code=_new_resume_code(now), kind=kind,
            voucher=voucher, day=today, started_at=now, expires_at=now + timedelta(minutes=minutes),
        )
        _set_address(session, client)
        session.save()
        _grant(session, now, firewall)  # raises FirewallError: the transaction rolls back
    return session


def _access(client: Client, code: str, now: datetime, today: date, wifi: WifiConfig,
            local_now: datetime | None) -> tuple[str, WifiVoucher | None, int]:
    """(kind, voucher, minutes) of the access asked for; InvalidInput when refused."""
    if not code.strip():
        return "rules", None, _minutes_left_today(client, now, today, wifi)
    try:
        voucher = usable_voucher(code)
        return "voucher", voucher, voucher.minutes
    except InvalidInput:
        minutes = booking_minutes(code, local_now) if local_now is not None else None
        if minutes is None:
            raise
        return "booking", None, minutes


def _minutes_left_today(client: Client, now: datetime, today: date, wifi: WifiConfig) -> int:
    if not wifi.daily_minutes:
        return wifi.session_minutes
    mine = (WifiSession.mac == client.mac) if client.mac else (
        (WifiSession.ipv4 if client.version == 4 else WifiSession.ipv6) == client.ip)
    used = 0
    for session in WifiSession.select().where((WifiSession.day == today) & (WifiSession.kind == "rules") & mine):
        end = min(session.ended_at or session.expires_at, session.expires_at, now)
        used += max(0, int((end - session.started_at).total_seconds() // 60))
    left = wifi.daily_minutes - used
    if left < 1:
        raise InvalidInput("code", N_("This device has used today's free Wi-Fi time. Ask at the desk for a code."))
    return min(wifi.session_minutes, left)


def resume(client: Client, code: str, now: datetime, firewall: Firewall) -> WifiSession:
    """Move a running session to this device's new address (a new, randomised MAC)."""
    if is_paused():
        raise WifiPaused()
    cleaned = clean_code(code)
    session = None
    if len(cleaned) == RESUME_LENGTH:
        session = WifiSession.select().where(_active(now) & (WifiSession.resume_code == cleaned)).first()
    if session is None:
        raise InvalidInput("resume_code", N_("This code is not valid or the session is over."))
    with database.atomic():
        for address in addresses(session):
            firewall.revoke(address)
        session.bytes_base = session.bytes_used
        session.ipv4 = session.ipv6 = session.mac = ""
        _set_address(session, client)
        session.moves += 1
        session.save()
        _grant(session, now, firewall)
    return session


def _end(session: WifiSession, now: datetime, reason: str, firewall: Firewall) -> None:
    for address in addresses(session):
        firewall.revoke(address)
    session.ended_at = min(now, session.expires_at)
    session.end_reason = reason
    session.save()


def end_session(session_id: int, now: datetime, firewall: Firewall) -> bool:
    """Staff end one device's session now; False if it was not running."""
    session = WifiSession.select().where(_active(now) & (WifiSession.id == session_id)).first()
    if session is None:
        return False
    with database.atomic():
        _end(session, now, "ended", firewall)
    return True


def revoke_voucher_sessions(voucher: WifiVoucher, now: datetime, firewall: Firewall) -> int:
    """End the running sessions a (now revoked) voucher opened."""
    sessions = list(WifiSession.select().where(_active(now) & (WifiSession.voucher == voucher)))
    with database.atomic():
        for session in sessions:
            _end(session, now, "voucher", firewall)
    return len(sessions)


def pause(paused: bool, now: datetime, firewall: Firewall) -> None:
    """Pause (or resume) the whole visitors' Wi-Fi; sessions keep running out meanwhile."""
    with database.atomic():
        if paused and not is_paused():
            WifiPause.create(started_at=now)
        if not paused:
            WifiPause.update(ended_at=now).where(WifiPause.ended_at.is_null()).execute()
        firewall.set_paused(paused)


def restore(now: datetime, firewall: Firewall) -> int:
    """After a reboot (or a ruleset reload): give the still-valid sessions their access
    back for the time they have left, and the pause its effect. Returns the sessions."""
    sessions = active_sessions(now)
    for session in sessions:
        _grant(session, now, firewall)
    firewall.set_paused(is_paused())
    return len(sessions)


def refresh(now: datetime, wifi: WifiConfig, firewall: Firewall) -> dict[str, int]:
    """Read the firewall's counters into the sessions; close those the kernel expired or
    whose byte quota is used up. Run every minute or so (and before showing figures)."""
    seen = firewall.sessions()
    quota = wifi.byte_quota_mb * 1_000_000
    counts = {"active": 0, "expired": 0, "quota": 0}
    with database.atomic():
        for session in WifiSession.select().where(WifiSession.ended_at.is_null()):
            counted = sum(seen[a].bytes_used for a in addresses(session) if a in seen)
            session.bytes_used = max(session.bytes_used, session.bytes_base + counted)
            if session.expires_at <= now:
                session.ended_at, session.end_reason = session.expires_at, "expired"
                counts["expired"] += 1
            elif quota and session.bytes_used >= quota:
                _end(session, now, "quota", firewall)
                counts["quota"] += 1
                continue
            else:
                counts["active"] += 1
            session.save()
    return counts


def can_extend(session: WifiSession, now: datetime) -> bool:
    """A house-rules session can be extended from the portal near its end (RFC 8908's
    can-extend-session); a voucher's cannot."""
    return session.kind == "rules"


def seconds_left(session: WifiSession | None, now: datetime) -> int:
    if session is None:
        return 0
    return max(0, int((session.expires_at - now).total_seconds()))


def bytes_left(session: WifiSession | None, wifi: WifiConfig) -> int | None:
    """Bytes the session may still use, or None without a quota."""
    if not wifi.byte_quota_mb:
        return None
    used = session.bytes_used if session is not None else 0
    return max(0, wifi.byte_quota_mb * 1_000_000 - used)
