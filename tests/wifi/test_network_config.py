"""Rendering the visitors' network: nftables ruleset, dnsmasq and hostapd configurations,
the `nft` driver's commands and JSON parsing; and, where root, the real checks:
`dnsmasq --test` and loading the ruleset into a throwaway network namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.config import ConfigError, WifiConfig, load_config
from appliance.hardware.firewall import (
    NftFirewall,
    normalise,
    parse_set,
    render_ruleset,
    resolve_garden,
    run_nft,
)
from appliance.hardware.network import (
    captive_api_url,
    neighbour_mac,
    render_all,
    render_dnsmasq,
    render_hostapd,
)
from tests.conftest import EPN
from tests.wifi.netns import missing_reason

WIFI = WifiConfig(walled_garden=("www.belgium.be", "193.191.0.0/16"))
GARDEN = (["193.191.0.0/16", "203.0.113.7/32"], ["2001:db8::7/128"])
NETNS_MISSING = missing_reason()


def test_the_ruleset_redirects_the_web_and_drops_the_rest_for_both_families():
    text = render_ruleset(WIFI, GARDEN)
    assert text.startswith("# Rendered") and "table inet epn_portal\ndelete table inet epn_portal\n" in text
    for name, kind in (("allowed4", "ipv4_addr"), ("allowed6", "ipv6_addr"), ("allowed_mac", "ether_addr")):
        assert f"set {name} {{ type {kind}; flags timeout; counter; }}" in text
    assert "tcp dport 80 redirect to :8080" in text
    assert 'iifname "wlan0" jump forward_visitors' in text and "        drop\n" in text
    assert "elements = { 193.191.0.0/16, 203.0.113.7/32 }" in text and "2001:db8::7/128" in text
    assert "quota" not in text and "limit rate" not in text
    assert "tcp dport { 53, 8080 } accept" in text
    assert "tcp dport { 53, 443, 8080 } accept" in render_ruleset(WifiConfig(https_url="https://portal.epn.example"))


def test_the_epns_own_devices_are_listed_in_the_ruleset():
    text = render_ruleset(WifiConfig(trusted_macs=("3c:22:fb:12:34:56",)))
    assert "set trusted_mac { type ether_addr; elements = { 3c:22:fb:12:34:56 }; }" in text
    assert "ether saddr @trusted_mac ct mark set" in text


def test_a_byte_quota_and_a_rate_limit_go_into_the_ruleset():
    text = render_ruleset(WifiConfig(byte_quota_mb=500, rate_limit_kbytes=250))
    assert "counter; quota 500 mbytes; }" in text
    assert "limit rate over 250 kbytes/second" in text


def test_walled_garden_names_are_resolved_when_rendering():
    lookups = {"www.belgium.be": ["193.191.245.1", "2001:db8::1"], "nowhere.example": []}
    v4, v6 = resolve_garden(("www.belgium.be", "10.9.0.0/16", "nowhere.example"), lookups.__getitem__)
    assert v4 == ["193.191.245.1/32", "10.9.0.0/16"] and v6 == ["2001:db8::1/128"]


@pytest.mark.parametrize("bad", ["10.0.0.1; flush ruleset", "fe80::1%eth0 }", "aa:bb:cc", "", "1.2.3.4 }"])
def test_nothing_but_an_address_reaches_the_nft_command(bad):
    with pytest.raises(ValueError):
        normalise(bad)
    assert normalise("AA-BB-CC-DD-EE-FF") == ("allowed_mac", "aa:bb:cc:dd:ee:ff")


def test_the_nft_driver_refreshes_the_timeout_in_one_atomic_batch():
    calls: list[tuple[list[str], str | None]] = []
    firewall = NftFirewall("wlan0", run=lambda args, stdin: calls.append((args, stdin)) or "")
    firewall.allow("10.44.0.5", 600)
    (nft, batch), (conntrack, _) = calls
    assert nft == ["nft", "-f", "-"] and batch.splitlines() == [
        "add element inet epn_portal allowed4 { 10.44.0.5 }",
        "delete element inet epn_portal allowed4 { 10.44.0.5 }",
        "add element inet epn_portal allowed4 { 10.44.0.5 timeout 600s }",
    ]
    assert conntrack == ["conntrack", "-D", "-s", "10.44.0.5"]


def test_the_counters_and_time_left_are_read_from_nft_json():
    output = json.dumps({"nftables": [{"metainfo": {}}, {"set": {"name": "allowed4", "elem": [
        {"elem": {"val": "10.44.0.5", "timeout": 600, "expires": 542, "counter": {"packets": 9, "bytes": 4321}}},
    ]}}]})
    found = parse_set(output)
    assert found["10.44.0.5"].seconds_left == 542 and found["10.44.0.5"].bytes_used == 4321
    assert parse_set(json.dumps({"nftables": [{"set": {"name": "allowed4"}}]})) == {}


def test_the_neighbour_table_gives_the_mac_of_an_address():
    answer = '[{"dst":"10.44.0.5","dev":"wlan0","lladdr":"5a:11:22:33:44:55","state":["REACHABLE"]}]'
    assert neighbour_mac("10.44.0.5", lambda args: answer) == "5a:11:22:33:44:55"
    assert neighbour_mac("10.44.0.6", lambda args: "[]") == ""
    assert neighbour_mac("10.44.0.6", lambda args: None) == ""


def test_dnsmasq_announces_the_captive_api_per_rfc_8910():
    text = render_dnsmasq(WIFI)
    assert 'dhcp-option=114,"http://10.44.0.1:8080/captive-portal/api"' in text
    assert 'dhcp-option=option6:103,"http://[fd44::1]:8080/captive-portal/api"' in text
    assert "dhcp-range=10.44.0.10,10.44.3.254,255.255.252.0,60m" in text
    assert "enable-ra" in text and "slaac" in text
    https = WifiConfig(https_url="https://portal.epn.example", portal_host="portal.epn.example")
    assert captive_api_url(https) == "https://portal.epn.example/captive-portal/api"
    assert "address=/portal.epn.example/10.44.0.1" in render_dnsmasq(https)
    assert "enable-ra" not in render_dnsmasq(WifiConfig(subnet_v6=""))


def test_hostapd_is_open_or_wpa2_and_isolates_visitors():
    open_text = render_hostapd(WifiConfig(ssid="EPN Café", channel=11))
    assert 'ssid2="EPN Café"' in open_text and "channel=11" in open_text and "ap_isolate=1" in open_text
    assert "wpa=" not in open_text
    secured = render_hostapd(WifiConfig(passphrase="visiteurs2026"))
    assert "wpa=2" in secured and "wpa_passphrase=visiteurs2026" in secured


def test_an_external_access_point_gets_no_hostapd_file(tmp_path):
    config = load_config(tmp_path / "d", overrides={"wifi": {"external_ap": True, "visitor_interface": "eth1"}},
                         environ={})
    names = sorted(p.name for p in render_all(config, tmp_path / "out"))
    assert names == ["dnsmasq.conf", "portal.nft"]
    assert "interface=eth1" in (tmp_path / "out" / "dnsmasq.conf").read_text()


@pytest.mark.parametrize("key,value", [
    ("backend", "iptables"), ("subnet_v4", "fd44::/64"), ("subnet_v6", "10.0.0.0/8"),
    ("passphrase", "short"), ("ssid", "x" * 33), ("channel", 14), ("walled_garden", ["not a host"]),
    ("visitor_interface", "wlan0; rm -rf /"), ("trusted_macs", ["3c:22:fb:12:34"]), ("https_url", "ftp://x"), ("country_code", "BEL"),
])
def test_bad_wifi_settings_stop_start_up_naming_the_key(tmp_path, key, value):
    with pytest.raises(ConfigError, match=f"wifi.{key}"):
        load_config(tmp_path, overrides={"wifi": {key: value}}, environ={})


@pytest.mark.system
@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="dnsmasq is not installed (scripts/system-deps.sh)")
def test_dnsmasq_accepts_the_rendered_configuration(tmp_path):
    for wifi in (WIFI, WifiConfig(subnet_v6="", portal_host="portal.epn.lan"), WifiConfig(external_ap=True)):
        path = tmp_path / "dnsmasq.conf"
        path.write_text(render_dnsmasq(wifi), encoding="utf-8")
        done = subprocess.run(["dnsmasq", "--test", f"--conf-file={path}"], capture_output=True, text=True, check=False)
        assert done.returncode == 0 and "syntax check OK" in done.stderr, done.stderr


@pytest.mark.system
@pytest.mark.skipif(NETNS_MISSING is not None, reason=str(NETNS_MISSING))
def test_the_ruleset_loads_for_real_in_a_throwaway_namespace(tmp_path):
    ns = f"epnload{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "wlan0", "type", "veth", "peer", "name", "eth0"], check=True)
        for wifi in (WIFI, WifiConfig(byte_quota_mb=100, rate_limit_kbytes=300, subnet_v6="",
                                      trusted_macs=("3c:22:fb:12:34:56",), https_url="https://p.example:8443")):
            text = render_ruleset(wifi, GARDEN)
            for _ in range(2):  # loading twice replaces the table, it does not add to it
                done = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text,
                                      capture_output=True, text=True, check=False)
                assert done.returncode == 0, done.stderr
        listed = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "inet", "epn_portal"],
                                capture_output=True, text=True, check=True).stdout
        assert listed.count("chain forward {") == 1 and "quota 100 mbytes" in listed
        firewall = NftFirewall("wlan0", run=lambda args, stdin: run_nft(["ip", "netns", "exec", ns, *args], stdin))
        firewall.allow("10.44.0.5", 300)
        firewall.allow("fd44::5", 300)
        firewall.allow("02:00:00:00:00:05", 300)
        found = firewall.sessions()
        assert set(found) == {"10.44.0.5", "fd44::5", "02:00:00:00:00:05"}
        assert 290 < found["10.44.0.5"].seconds_left <= 300
        firewall.allow("10.44.0.5", 30)  # extending (or shortening) replaces the timeout
        assert firewall.sessions()["10.44.0.5"].seconds_left <= 30
        firewall.revoke("10.44.0.5")
        firewall.revoke("10.44.0.5")  # twice: no error
        firewall.set_paused(True)
        assert "10.44.0.5" not in firewall.sessions() and firewall.is_paused()
        firewall.set_paused(False)
        assert not firewall.is_paused()
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def test_epn_wifi_render_writes_the_three_files(data_dir, tmp_path):
    done = subprocess.run([EPN, "wifi", "render", str(tmp_path / "out"), "--data", str(data_dir)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(Path(line).name for line in done.stdout.split()) == ["dnsmasq.conf", "hostapd.conf", "portal.nft"]
    assert oct((tmp_path / "out" / "hostapd.conf").stat().st_mode & 0o777) == "0o600"
