"""The visitors' Wi-Fi: sessions, vouchers, their figures and the retention of addresses.

MAC and IP addresses are kept for the session's life plus `wifi.address_retention_hours`,
then erased; the anonymous session rows stay `wifi.session_days` for the statistics.
Sessions link to no member: a member's export and erasure have nothing here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from peewee import fn

from appliance.models import WifiSession, utcnow
from appliance.period import Period
from appliance.registry import register_figures, register_personal_data

if TYPE_CHECKING:
    from appliance.config import RetentionConfig, WifiConfig
    from appliance.models import Member


def figures(period: Period) -> dict[str, int]:
    """Sessions, sessions opened by a voucher, resumes on a new address, minutes online
    and megabytes used, for the sessions started in `period` (counts only); nothing at
    all for a period without sessions."""
    rows = list(
        WifiSession.select(WifiSession.kind, WifiSession.started_at, WifiSession.expires_at,
                           WifiSession.ended_at, WifiSession.bytes_used, WifiSession.moves)
        .where((WifiSession.day >= period.start) & (WifiSession.day < period.end))
        .tuples()
    )
    if not rows:
        return {}  # no Wi-Fi in the period (or none on this appliance): absent, not zero
    now = utcnow()
    minutes = 0
    for _, started, expires, ended, _, _ in rows:
        end = min(ended or expires, expires, max(now, started))
        minutes += int((end - started).total_seconds() // 60)
    return {
        "wifi.sessions": len(rows),
        "wifi.vouchers_used": sum(1 for row in rows if row[0] == "voucher"),
        "wifi.resumes": sum(row[5] for row in rows),
        "wifi.minutes": minutes,
        "wifi.megabytes": sum(row[4] for row in rows) // 1_000_000,
    }


def purge_addresses(now: datetime, wifi: WifiConfig) -> int:
    """Erase the addresses of sessions over for longer than the retention; delete the
    anonymous rows older than `wifi.session_days`. Returns the rows changed."""
    limit = now - timedelta(hours=wifi.address_retention_hours)
    over = fn.COALESCE(WifiSession.ended_at, WifiSession.expires_at) < limit
    erased = (WifiSession.update(ipv4="", ipv6="", mac="", resume_code="", addresses_erased=True)
              .where(over & ~WifiSession.addresses_erased).execute())
    deleted = WifiSession.delete().where(WifiSession.started_at < now - timedelta(days=wifi.session_days)).execute()
    return erased + deleted


def _wifi_config() -> WifiConfig:
    from appliance.config import WifiConfig
    from appliance.taskqueue import runtime

    config = runtime.get("config")
    return config.wifi if config is not None else WifiConfig()


def _purge(today: date, retention: RetentionConfig) -> int:
    return purge_addresses(utcnow(), _wifi_config())


def _export(member: Member) -> Any:
    return []  # sessions are anonymous: nothing links them to a member


def _erase(member: Member) -> int:
    return 0


register_figures("wifi", figures)
register_personal_data("wifi", export=_export, erase=_erase, purge=_purge)
