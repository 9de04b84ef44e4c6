"""The captive portal for real: the appliance's nftables ruleset and `epn serve` in an
appliance namespace, a visitor namespace with curl, an "internet" namespace with web
servers, IPv4 and IPv6. Root on Linux only (CI); elsewhere each test skips with a reason."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.db import database, init_database
from appliance.models import WifiSession
from tests.conftest import EPN
from tests.wifi.netns import (
    GATEWAY_IP,
    GATEWAY_IP6,
    INTERNET_IP,
    INTERNET_IP6,
    PORTAL_PORT,
    VISITOR_IP,
    Lab,
    missing_reason,
    sh,
)

MISSING = missing_reason()
pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]

PORTAL = f"http://{GATEWAY_IP}:{PORTAL_PORT}"
PORTAL6 = f"http://[{GATEWAY_IP6}]:{PORTAL_PORT}"
LANDING = f"{PORTAL}/portal/wifi"
OTHER4, OTHER6 = f"http://{INTERNET_IP}:8000/", f"http://[{INTERNET_IP6}]:8000/"
WEB4, WEB6 = f"http://{INTERNET_IP}/", f"http://[{INTERNET_IP6}]/"
CONFIG = f"""\
site:
  name: EPN Netns
wifi:
  backend: nft
  visitor_interface: g0
  uplink_interface: g1
  subnet_v4: 10.77.1.0/24
  subnet_v6: fd77:1::/64
  portal_port: {PORTAL_PORT}
  session_minutes: 30
  accepts_per_minute: 12
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("netns")
    data = root / "data"
    data.mkdir()
    (data / "config.yaml").write_text(CONFIG, encoding="utf-8")
    init_database(load_config(data, environ={}).database_path)
    (root / "www").mkdir()
    lab = Lab(f"epn{os.getpid() % 100000}")
    lab.data = data  # type: ignore[attr-defined]
    try:
        lab.setup(root / "www")
        lab.in_appliance(EPN, "wifi", "up", "--data", str(data))
        lab.start(lab.appliance, [EPN, "serve", "--data", str(data), "--host", "::",
                                  "--port", str(PORTAL_PORT), "--workers", "2"], log=root / "serve.log")
        # Another service of the appliance (think ssh): for the staff side only.
        lab.start(lab.appliance, ["python3", "-m", "http.server", "2222", "--bind", "::",
                                  "--directory", str(root / "www")])
        lab.wait_for(f"{PORTAL}/healthz")
        lab.wait_for(f"{PORTAL6}/healthz", family="-6")
        lab.wait_for(WEB4)  # the redirect answers: the ruleset is in place
        lab.wait_for(WEB6, family="-6")
        yield lab
    finally:
        lab.close()


def epn(lab: Lab, *args: str) -> str:
    return lab.in_appliance(EPN, *args, "--data", str(lab.data)).stdout  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def no_session(lab: Lab) -> Iterator[None]:
    """Each test starts with no session (ended in the database, firewall reloaded)."""
    _db(lab, lambda: WifiSession.update(ended_at=_now()).where(WifiSession.ended_at.is_null()).execute())
    epn(lab, "wifi", "up")
    lab.in_appliance("conntrack", "-F", check=False)
    yield


def _db(lab: Lab, action):  # type: ignore[no-untyped-def]
    init_database(load_config(lab.data, environ={}).database_path)  # type: ignore[attr-defined]
    with database.connection_context():
        return action()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def blocked(lab: Lab, url: str, family: str = "-4") -> bool:
    return lab.curl(url, family=family, timeout=1.5)[0].startswith("000")


def reaches_internet(lab: Lab, url: str, family: str = "-4") -> bool:
    status, body = lab.curl(url, family=family)
    return status.startswith("200") and body.strip() == "internet-ok"


def accept(lab: Lab, *form: str, base: str = LANDING) -> str:
    data = ["-d", "rules=yes"] + [x for pair in form for x in ("-d", pair)]
    status, _ = lab.curl(base + "/accept", *data)
    return status


def check_captive(lab: Lab) -> None:
    assert blocked(lab, OTHER4) and blocked(lab, OTHER6, "-6")
    assert lab.curl(WEB4)[0] == f"302 {LANDING}"
    assert lab.curl(WEB6, family="-6")[0] == f"302 {LANDING}"


def test_before_acceptance_only_the_portal_answers_ipv4_and_ipv6(lab: Lab) -> None:
    check_captive(lab)
    assert lab.curl(f"http://{INTERNET_IP}/generate_204")[0] == f"302 {LANDING}"
    assert lab.curl(f"http://[{INTERNET_IP6}]/hotspot-detect.html", family="-6")[0] == f"302 {LANDING}"
    status, body = lab.curl(f"{PORTAL}/captive-portal/api")
    assert status.startswith("200") and json.loads(body)["captive"] is True
    status, body = lab.curl(LANDING)
    assert status.startswith("200") and 'action="/portal/wifi/accept"' in body


def test_accepting_opens_both_families_until_the_kernel_ends_the_session(lab: Lab) -> None:
    assert accept(lab) == f"303 {PORTAL}/portal/wifi/welcome"
    assert reaches_internet(lab, OTHER4) and reaches_internet(lab, WEB4)
    # IPv6 through the device's MAC address, learnt from the neighbour table.
    assert reaches_internet(lab, OTHER6, "-6") and reaches_internet(lab, WEB6, "-6")
    _, body = lab.curl(f"{PORTAL}/captive-portal/api")
    api = json.loads(body)
    assert api["captive"] is False and 1700 < api["seconds-remaining"] <= 1800
    listed = json.loads(lab.in_appliance("nft", "-j", "list", "set", "inet", "epn_portal", "allowed4").stdout)
    elements = [e["elem"] for e in listed["nftables"][1]["set"]["elem"]]
    assert elements[0]["val"] == VISITOR_IP and elements[0]["counter"]["bytes"] > 0
    # Time passes: the session has 2 seconds left; a restore hands that to the kernel.
    _db(lab, lambda: WifiSession.update(expires_at=_now() + timedelta(seconds=2))
        .where(WifiSession.ended_at.is_null()).execute())
    epn(lab, "wifi", "restore")
    time.sleep(3.5)
    check_captive(lab)


def test_a_revoked_voucher_cuts_access_at_once(lab: Lab) -> None:
    code = epn(lab, "wifi", "voucher", "add", "--minutes", "60").strip().splitlines()[-1]
    assert accept(lab, f"code={code.lower()}").startswith("303")
    assert reaches_internet(lab, OTHER4) and reaches_internet(lab, OTHER6, "-6")
    assert "sessions ended: 1" in epn(lab, "wifi", "voucher", "revoke", code)
    check_captive(lab)
    status, body = lab.curl(LANDING + "/accept", "-d", "rules=yes", "-d", f"code={code}", "-H", "Accept-Language: en")
    assert status.startswith("400") and "not valid" in body
    assert blocked(lab, OTHER4)


def test_sessions_still_valid_come_back_after_a_reboot(lab: Lab) -> None:
    assert accept(lab).startswith("303")
    assert reaches_internet(lab, OTHER4)
    # A reboot: the table comes back empty from the rendered file ...
    rendered = Path(lab.data) / "rendered"  # type: ignore[attr-defined]
    epn(lab, "wifi", "render", str(rendered))
    lab.in_appliance("nft", "-f", str(rendered / "portal.nft"))
    lab.in_appliance("conntrack", "-F", check=False)
    assert blocked(lab, OTHER4)
    # ... and the restore at start gives the session back.
    assert "sessions restored: 1" in epn(lab, "wifi", "restore")
    assert reaches_internet(lab, OTHER4) and reaches_internet(lab, OTHER6, "-6")


def test_staff_pages_and_the_api_do_not_answer_the_visitors(lab: Lab) -> None:
    for path in ("/staff/login", "/staff/", "/staff/wifi/", "/api/v1/openapi.json"):
        assert lab.curl(PORTAL + path)[0].startswith("404"), path
        assert lab.curl(PORTAL6 + path, family="-6")[0].startswith("404"), path
    assert lab.curl(PORTAL + "/")[0].startswith("200")
    # Nothing else of the appliance answers the visitors' network (e.g. ssh) ...
    assert blocked(lab, f"http://{GATEWAY_IP}:2222/") and blocked(lab, f"http://[{GATEWAY_IP6}]:2222/", "-6")
    # ... though it does answer on the other side.
    other_side = sh("ip", "netns", "exec", lab.internet, "curl", "-s", "--max-time", "5", "http://10.77.2.1:2222/",
                    check=False)
    assert other_side.stdout.strip() == "internet-ok"


def test_a_phone_with_a_new_mac_resumes_its_session_with_its_code(lab: Lab) -> None:
    assert accept(lab).startswith("303")
    code = re.search(r'class="code"[^>]*>([A-Z0-9]{6})<', lab.curl(LANDING + "/welcome")[1]).group(1)
    assert reaches_internet(lab, OTHER4)
    ns = ["ip", "-n", lab.visitor]
    try:
        _run(*ns, "link", "set", "c0", "address", "02:aa:bb:cc:dd:ee")  # veth: while up
        _run(*ns, "addr", "del", f"{VISITOR_IP}/24", "dev", "c0")
        _run(*ns, "addr", "add", "10.77.1.3/24", "dev", "c0")
        _run(*ns, "route", "replace", "default", "via", GATEWAY_IP)
        lab.wait_for(f"{PORTAL}/healthz")
        assert blocked(lab, OTHER4)
        status, _ = lab.curl(LANDING + "/resume", "-d", "resume_code=ZZZZZZ")
        assert status.startswith("400")
        assert lab.curl(LANDING + "/resume", "-d", f"resume_code={code.lower()}")[0].startswith("303")
        assert reaches_internet(lab, OTHER4)
        listed = lab.in_appliance("nft", "list", "set", "inet", "epn_portal", "allowed4").stdout
        assert "10.77.1.3" in listed and VISITOR_IP not in listed
    finally:
        _run(*ns, "addr", "del", "10.77.1.3/24", "dev", "c0", check=False)
        _run(*ns, "addr", "add", f"{VISITOR_IP}/24", "dev", "c0", check=False)
        _run(*ns, "route", "replace", "default", "via", GATEWAY_IP, check=False)
        _run(*ns, "addr", "replace", "fd77:1::2/64", "dev", "c0", "nodad", check=False)
        _run(*ns, "-6", "route", "replace", "default", "via", GATEWAY_IP6, check=False)


def _run(*args: str, check: bool = True) -> None:
    from tests.wifi.netns import sh

    sh(*args, check=check)


def test_walled_garden_and_byte_quota_are_enforced_by_the_kernel(lab: Lab) -> None:
    config = Path(lab.data) / "config.yaml"  # type: ignore[attr-defined]
    original = config.read_text(encoding="utf-8")
    try:
        # The internet host's IPv6 address is in the walled garden; a 1 MB quota per device.
        config.write_text(original + f"  walled_garden: [{INTERNET_IP6}]\n  byte_quota_mb: 1\n", encoding="utf-8")
        epn(lab, "wifi", "up")
        assert reaches_internet(lab, OTHER6, "-6") and blocked(lab, OTHER4)
        assert accept(lab).startswith("303")
        done = lab.in_visitor("curl", "-4", "-s", "--max-time", "4", "-o", "/dev/null", "-w", "%{size_download}",
                              f"http://{INTERNET_IP}:8000/big.bin", timeout=15)
        assert 500_000 < int(done.stdout or 0) < 3_000_000  # cut after about 1 MB
        assert blocked(lab, OTHER4)  # the element stopped matching: no more internet
        assert lab.curl(WEB4)[0] == f"302 {LANDING}"  # and the web goes to the portal again
    finally:
        config.write_text(original, encoding="utf-8")
        epn(lab, "wifi", "up")


def test_a_pause_stops_accepted_devices_and_the_end_of_it_lets_them_back(lab: Lab) -> None:
    assert accept(lab).startswith("303")
    assert reaches_internet(lab, OTHER4)
    try:
        assert epn(lab, "wifi", "pause", "on").strip() == "paused"
        assert blocked(lab, OTHER4) and blocked(lab, OTHER6, "-6")
        assert lab.curl(WEB4)[0] == f"302 {LANDING}"
        assert lab.curl(f"{PORTAL}/generate_204")[0].startswith("302")
    finally:
        epn(lab, "wifi", "pause", "off")
    assert reaches_internet(lab, OTHER4)


def test_the_epns_own_devices_go_through_without_the_portal(lab: Lab) -> None:
    mac = json.loads(sh("ip", "-n", lab.visitor, "-j", "link", "show", "c0").stdout)[0]["address"]
    config = Path(lab.data) / "config.yaml"  # type: ignore[attr-defined]
    original = config.read_text(encoding="utf-8")
    try:
        config.write_text(original + f"  trusted_macs: [{mac}]\n", encoding="utf-8")
        epn(lab, "wifi", "up")
        assert reaches_internet(lab, OTHER4) and reaches_internet(lab, OTHER6, "-6")
        assert reaches_internet(lab, WEB4)  # not redirected
    finally:
        config.write_text(original, encoding="utf-8")
        epn(lab, "wifi", "up")
    check_captive(lab)


def test_dnsmasq_offers_an_address_and_the_captive_api_in_option_114(lab: Lab, tmp_path: Path) -> None:
    if shutil.which("dnsmasq") is None:
        pytest.skip("dnsmasq is not installed (scripts/system-deps.sh)")
    epn(lab, "wifi", "render", str(tmp_path))
    dnsmasq = lab.start(lab.appliance, ["dnsmasq", "--keep-in-foreground", f"--conf-file={tmp_path / 'dnsmasq.conf'}",
                                        "--port=0", "--user=root", f"--dhcp-leasefile={tmp_path / 'leases'}",
                                        f"--pid-file={tmp_path / 'pid'}"], log=tmp_path / "dnsmasq.log")
    try:
        done = lab.in_visitor(sys.executable, str(Path(__file__).with_name("dhcp_probe.py")), "c0")
        assert done.returncode == 0, done.stderr + (tmp_path / "dnsmasq.log").read_text()
        offer = json.loads(done.stdout)
        assert offer["114"] == f"{PORTAL}/captive-portal/api"
        assert offer["yiaddr"].startswith("10.77.1.") and offer["3"] == "".join(map(chr, (10, 77, 1, 1)))
    finally:
        dnsmasq.terminate()
        dnsmasq.wait(timeout=10)


# Last: the flood fills the portal's attempt limiter for the visitor's address.
def test_a_flood_of_guesses_is_rate_limited_and_opens_nothing(lab: Lab) -> None:
    statuses = [lab.curl(LANDING + "/accept", "-d", "rules=yes", "-d", f"code=GUESS{n:03d}")[0][:3]
                for n in range(30)]
    assert "429" in statuses and set(statuses) <= {"400", "429"}
    assert blocked(lab, OTHER4)
