"""Wi-Fi sessions and vouchers against the in-memory firewall: acceptance, vouchers used
once, revocation, resuming on a new address, restore after a reboot, quota, retention,
figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from appliance.config import WifiConfig
from appliance.errors import InvalidInput
from appliance.hardware.firewall import FakeFirewall, FirewallError
from appliance.models import WifiSession, WifiVoucher
from appliance.period import Period
from appliance.wifi import figures, purge_addresses
from appliance.wifi import sessions as ws
from appliance.wifi.limits import AttemptLimiter, TooManyAttempts
from appliance.wifi.vouchers import clean_code, create_vouchers, display, revoke_voucher

NOW = datetime(2026, 11, 17, 9, 30)
TODAY = date(2026, 11, 17)
WIFI = WifiConfig()
PHONE = ws.Client("10.44.0.20", "02:00:00:00:00:20")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def fw() -> FakeFirewall:
    return FakeFirewall(Clock())


def test_accepting_the_rules_opens_the_ip_and_mac_for_the_session_length(db, fw):
    session = ws.accept(PHONE, NOW, TODAY, WIFI, fw)
    assert set(fw.sessions()) == {"10.44.0.20", "02:00:00:00:00:20"}
    assert fw.sessions()["10.44.0.20"].seconds_left == WIFI.session_minutes * 60
    assert session.kind == "rules" and len(session.resume_code) == 6
    assert ws.current_session(ws.Client("10.44.0.20"), NOW).id == session.id


def test_accepting_twice_gives_no_extra_time_until_near_the_end(db, fw):
    first = ws.accept(PHONE, NOW, TODAY, WIFI, fw)
    again = ws.accept(PHONE, NOW + timedelta(minutes=30), TODAY, WIFI, fw)
    assert again.id == first.id and again.expires_at == first.expires_at
    late = NOW + timedelta(minutes=WIFI.session_minutes - 5)
    extended = ws.accept(PHONE, late, TODAY, WIFI, fw)
    assert extended.expires_at == late + timedelta(minutes=WIFI.session_minutes)
    assert WifiSession.select().count() == 1


def test_a_one_off_voucher_serves_one_device_only(db, fw):
    (voucher,) = create_vouchers(1, 45, "Atelier CV")
    typed = display(voucher.code).lower()  # "abcd-efgh": dashes and case do not matter
    session = ws.accept(PHONE, NOW, TODAY, WIFI, fw, voucher_code=typed)
    assert session.kind == "voucher" and session.expires_at == NOW + timedelta(minutes=45)
    other = ws.Client("10.44.0.21")
    with pytest.raises(InvalidInput):
        ws.accept(other, NOW, TODAY, WIFI, fw, voucher_code=voucher.code)
    assert "10.44.0.21" not in fw.sessions()
    assert WifiVoucher.get_by_id(voucher.id).uses == 1


@pytest.mark.parametrize("code", ["", "NOPE1234", "ABCD", "' OR 1=1 --", "x" * 500])
def test_an_unknown_code_opens_nothing(db, fw, code):
    with pytest.raises(InvalidInput):
        ws.accept(PHONE, NOW, TODAY, WIFI, fw, voucher_code=code or "   x")
    assert fw.sessions() == {} and WifiSession.select().count() == 0


def test_revoking_a_voucher_ends_its_sessions_and_refuses_it_after(db, fw):
    (voucher,) = create_vouchers(1, 60, uses_allowed=3)
    ws.accept(PHONE, NOW, TODAY, WIFI, fw, voucher_code=voucher.code)
    revoked = revoke_voucher(voucher.code, NOW)
    assert ws.revoke_voucher_sessions(revoked, NOW, fw) == 1
    assert fw.sessions() == {}
    with pytest.raises(InvalidInput):
        ws.accept(ws.Client("10.44.0.30"), NOW, TODAY, WIFI, fw, voucher_code=voucher.code)


def test_a_firewall_failure_records_nothing_and_uses_no_voucher(db):
    class Broken(FakeFirewall):
        def allow(self, address: str, seconds: int) -> None:
            raise FirewallError("nft: permission denied")

    (voucher,) = create_vouchers(1, 60)
    with pytest.raises(FirewallError):
        ws.accept(PHONE, NOW, TODAY, WIFI, Broken(), voucher_code=voucher.code)
    assert WifiSession.select().count() == 0 and WifiVoucher.get_by_id(voucher.id).uses == 0


def test_a_new_mac_resumes_the_session_with_its_code_and_the_old_address_is_closed(db, fw):
    session = ws.accept(PHONE, NOW, TODAY, WIFI, fw)
    new = ws.Client("10.44.0.77", "06:11:22:33:44:55")
    later = NOW + timedelta(minutes=20)
    moved = ws.resume(new, session.resume_code.lower(), later, fw)
    assert moved.id == session.id and moved.moves == 1
    assert set(fw.sessions()) == {"10.44.0.77", "06:11:22:33:44:55"}
    assert fw.sessions()["10.44.0.77"].seconds_left == (WIFI.session_minutes - 20) * 60


@pytest.mark.parametrize("code", ["", "AAAAAA", "123", "ZZZZZZZ"])
def test_a_forged_resume_code_opens_nothing(db, fw, code):
    ws.accept(PHONE, NOW, TODAY, WIFI, fw)
    with pytest.raises(InvalidInput):
        ws.resume(ws.Client("10.44.0.99"), code, NOW, fw)
    assert "10.44.0.99" not in fw.sessions()


def test_an_ended_session_cannot_be_resumed(db, fw):
    session = ws.accept(PHONE, NOW, TODAY, WIFI, fw)
    assert ws.end_session(session.id, NOW, fw) is True
    assert fw.sessions() == {}
    with pytest.raises(InvalidInput):
        ws.resume(ws.Client("10.44.0.99"), session.resume_code, NOW, fw)
    assert ws.end_session(session.id, NOW, fw) is False


def test_restore_after_a_reboot_gives_back_only_the_time_left(db, fw):
    ws.accept(PHONE, NOW, TODAY, WIFI, fw)
    ws.accept(ws.Client("10.44.0.40"), NOW - timedelta(hours=3), TODAY, WIFI, fw)  # over by now
    rebooted = FakeFirewall(Clock())
    assert ws.restore(NOW + timedelta(minutes=30), rebooted) == 1
    assert rebooted.sessions()["10.44.0.20"].seconds_left == (WIFI.session_minutes - 30) * 60
    assert "10.44.0.40" not in rebooted.sessions()


def test_pausing_stops_new_sessions_and_is_restored(db, fw):
    ws.pause(True, NOW, fw)
    assert fw.is_paused()
    with pytest.raises(ws.WifiPaused):
        ws.accept(PHONE, NOW, TODAY, WIFI, fw)
    rebooted = FakeFirewall(Clock())
    ws.restore(NOW, rebooted)
    assert rebooted.is_paused()
    ws.pause(False, NOW, fw)
    assert not fw.is_paused() and ws.accept(PHONE, NOW, TODAY, WIFI, fw).id


def test_refresh_reads_the_counters_and_ends_a_session_over_its_quota(db, fw):
    wifi = WifiConfig(byte_quota_mb=10)
    ws.accept(PHONE, NOW, TODAY, wifi, fw)
    fw.use("10.44.0.20", 4_000_000)
    fw.use("02:00:00:00:00:20", 1_000_000)
    assert ws.refresh(NOW, wifi, fw)["active"] == 1
    session = ws.current_session(PHONE, NOW)
    assert session.bytes_used == 5_000_000 and ws.bytes_left(session, wifi) == 5_000_000
    fw.use("10.44.0.20", 6_000_000)
    assert ws.refresh(NOW, wifi, fw)["quota"] == 1
    assert fw.sessions() == {} and ws.current_session(PHONE, NOW) is None


def test_addresses_are_erased_a_day_after_the_end_and_the_figures_stay(db, fw):
    ws.accept(PHONE, NOW, TODAY, WIFI, fw)
    (voucher,) = create_vouchers(1, 60)
    ws.accept(ws.Client("fd44::50"), NOW, TODAY, WIFI, fw, voucher_code=voucher.code)
    assert purge_addresses(NOW + timedelta(hours=3), WIFI) == 0
    assert purge_addresses(NOW + timedelta(hours=WIFI.address_retention_hours + 3), WIFI) == 2
    assert not WifiSession.select().where((WifiSession.ipv4 != "") | (WifiSession.ipv6 != "")
                                          | (WifiSession.mac != "")).exists()
    found = figures(Period.parse("2026-11"))
    assert found["wifi.sessions"] == 2 and found["wifi.vouchers_used"] == 1
    assert found["wifi.minutes"] == WIFI.session_minutes + 60
    assert figures(Period.parse("2026-10")) == {}  # absent, not zero


def test_the_attempt_limiter_counts_per_device_per_minute():
    clock = Clock()
    limiter = AttemptLimiter(3, clock)
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(TooManyAttempts):
        limiter.check("a")
    limiter.check("b")
    clock.t += 61
    limiter.check("a")
    assert clean_code(" ab-cd 12 ") == "ABCD12"


def test_an_ipv4_mapped_address_is_the_ipv4_client():
    assert ws.Client.of("::ffff:10.44.0.9").ip == "10.44.0.9"
    assert ws.in_visitor_network("::ffff:10.44.0.9", WIFI)
    assert not ws.in_visitor_network("127.0.0.1", WIFI)


def _booking(status: str, starts: datetime, ends: datetime, code: str) -> None:
    from appliance.models import Booking

    Booking.create(code=code, kind="seat", status=status, starts=starts, ends=ends)


def test_a_booking_code_gives_internet_until_the_booking_ends(db, fw):
    local = datetime(2026, 11, 17, 10, 30)
    _booking("booked", local - timedelta(minutes=15), local + timedelta(minutes=45), "7KQ2MX9D")
    session = ws.accept(PHONE, NOW, TODAY, WIFI, fw, voucher_code="7kq2-mx9d", local_now=local)
    assert session.kind == "booking" and session.expires_at == NOW + timedelta(minutes=45)
    assert session.voucher is None and fw.sessions()["10.44.0.20"].seconds_left == 45 * 60


@pytest.mark.parametrize("status,shift,message", [
    ("cancelled", timedelta(0), "over or was cancelled"),
    ("booked", timedelta(hours=-3), "over or was cancelled"),  # ended an hour ago
    ("booked", timedelta(hours=2), "not started yet"),
])
def test_an_expired_cancelled_or_future_booking_code_opens_nothing(db, fw, status, shift, message):
    local = datetime(2026, 11, 17, 10, 30)
    _booking(status, local + shift, local + shift + timedelta(hours=2), "7KQ2MX9E")
    with pytest.raises(InvalidInput, match=message):
        ws.accept(PHONE, NOW, TODAY, WIFI, fw, voucher_code="7KQ2MX9E", local_now=local)
    assert fw.sessions() == {} and WifiSession.select().count() == 0


def test_the_daily_allowance_adds_up_the_house_rules_sessions_of_one_device(db, fw):
    wifi = WifiConfig(session_minutes=60, daily_minutes=90)
    first = ws.accept(PHONE, NOW, TODAY, wifi, fw)
    ws.end_session(first.id, NOW + timedelta(minutes=50), fw)
    second = ws.accept(PHONE, NOW + timedelta(hours=2), TODAY, wifi, fw)
    assert second.expires_at - second.started_at == timedelta(minutes=40)
    with pytest.raises(InvalidInput, match="today's free Wi-Fi"):
        ws.accept(PHONE, NOW + timedelta(hours=4), TODAY, wifi, fw)
    (voucher,) = create_vouchers(1, 30)  # a code from the desk still works
    assert ws.accept(PHONE, NOW + timedelta(hours=4), TODAY, wifi, fw, voucher_code=voucher.code).kind == "voucher"
    assert ws.accept(PHONE, datetime(2026, 11, 18, 9), date(2026, 11, 18), wifi, fw).kind == "rules"
