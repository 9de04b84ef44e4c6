"""The visitors' network configuration: hostapd (the radio), dnsmasq (DHCP and DNS) and
the nftables ruleset, rendered from the appliance's configuration; and the neighbour
table, to learn a device's MAC address from its IP address.

The Captive Portal API's address is announced per RFC 8910: DHCPv4 option 114 and
DHCPv6 option 103. The IPv6 Router Advertisement option 37 is not sent: dnsmasq (2.90 in
Debian) cannot add it to its RAs. With `wifi.external_ap` an access point is plugged on
the wired port: no hostapd configuration is rendered, the appliance is gateway and portal.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.hardware.firewall import MAC, ruleset_for

if TYPE_CHECKING:
    from appliance.config import Config, WifiConfig


def appliance_address(subnet: str) -> str:
    """The appliance takes the first address of each visitors' subnet."""
    return str(next(ipaddress.ip_network(subnet).hosts()))


def portal_base(wifi: WifiConfig) -> str:
    """http://host:port of the portal as visitors reach it."""
    host = wifi.portal_host or appliance_address(wifi.subnet_v4)
    return f"http://{host}" + ("" if wifi.portal_port == 80 else f":{wifi.portal_port}")


def captive_api_url(wifi: WifiConfig, family: int = 4) -> str:
    """The RFC 8908 API's address: over HTTPS when the appliance has a certificate."""
    if wifi.https_url:
        return wifi.https_url + "/captive-portal/api"
    if family == 6 and wifi.subnet_v6 and not wifi.portal_host:
        host = f"[{appliance_address(wifi.subnet_v6)}]"
        return f"http://{host}" + ("" if wifi.portal_port == 80 else f":{wifi.portal_port}") + "/captive-portal/api"
    return portal_base(wifi) + "/captive-portal/api"


def render_hostapd(wifi: WifiConfig) -> str:
    lines = [
        "# Rendered by `epn wifi render` from the appliance's configuration: do not edit.",
        f"interface={wifi.visitor_interface}",
        "driver=nl80211",
        f"ssid2={json.dumps(wifi.ssid, ensure_ascii=False)}",
        "utf8_ssid=1",
        f"country_code={wifi.country_code}",
        "ieee80211d=1",
        "hw_mode=g",
        f"channel={wifi.channel}",
        "ieee80211n=1",
        "wmm_enabled=1",
        # Visitors must not reach each other's devices.
        "ap_isolate=1",
        "max_num_sta=40",
        "auth_algs=1",
    ]
    if wifi.passphrase:
        lines += ["wpa=2", "wpa_key_mgmt=WPA-PSK", "rsn_pairwise=CCMP", f"wpa_passphrase={wifi.passphrase}"]
    return "\n".join(lines) + "\n"


def render_dnsmasq(wifi: WifiConfig) -> str:
    net4 = ipaddress.ip_network(wifi.subnet_v4)
    hosts = list(net4.hosts())
    gateway = str(hosts[0])
    first = str(hosts[min(9, len(hosts) - 2)])
    lease = f"{wifi.dhcp_lease_minutes}m"
    lines = [
        "# Rendered by `epn wifi render` from the appliance's configuration: do not edit.",
        f"interface={wifi.visitor_interface}",
        "bind-dynamic",
        "domain-needed",
        "bogus-priv",
        "no-ping",
        f"dhcp-range={first},{hosts[-1]},{net4.netmask},{lease}",
        f"dhcp-option=option:router,{gateway}",
        f"dhcp-option=option:dns-server,{gateway}",
        # RFC 8910: the Captive Portal API (dnsmasq has no name for option 114).
        f'dhcp-option=114,"{captive_api_url(wifi, 4)}"',
        "dhcp-authoritative",
    ]
    if wifi.portal_host:
        lines.append(f"address=/{wifi.portal_host}/{gateway}")
    if wifi.subnet_v6:
        net6 = ipaddress.ip_network(wifi.subnet_v6)
        start, end = net6.network_address + 0x100, net6.network_address + 0xFFFF
        lines += [
            "enable-ra",
            # SLAAC for phones (Android has no DHCPv6), DHCPv6 for those that ask.
            f"dhcp-range={start},{end},slaac,{net6.prefixlen},{lease}",
            f"dhcp-option=option6:dns-server,[{appliance_address(wifi.subnet_v6)}]",
            f'dhcp-option=option6:103,"{captive_api_url(wifi, 6)}"',
        ]
        if wifi.portal_host:
            lines.append(f"address=/{wifi.portal_host}/{appliance_address(wifi.subnet_v6)}")
    return "\n".join(lines) + "\n"


def render_all(config: Config, directory: Path) -> list[Path]:
    """Write hostapd.conf (unless an external AP is used), dnsmasq.conf and portal.nft."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {"dnsmasq.conf": render_dnsmasq(config.wifi), "portal.nft": ruleset_for(config)}
    if not config.wifi.external_ap:
        files["hostapd.conf"] = render_hostapd(config.wifi)
    written = []
    for name, text in sorted(files.items()):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        if name == "hostapd.conf":
            path.chmod(0o600)  # it holds the passphrase
        written.append(path)
    return written


Runner = Callable[[list[str]], "str | None"]


def _run(args: list[str]) -> str | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def neighbour_mac(ip: str, run: Runner = _run) -> str:
    """The MAC address the kernel's neighbour table holds for `ip` ("" when unknown)."""
    address = str(ipaddress.ip_address(ip))
    output = run(["ip", "-j", "neigh", "show", "to", address])
    try:
        entries = json.loads(output or "[]")
    except ValueError:
        return ""
    for entry in entries:
        mac = str(entry.get("lladdr", "")).lower()
        if MAC.match(mac):
            return mac
    return ""


def mac_lookup_for(config: Config) -> Callable[[str], str]:
    """The real neighbour table with the nft backend; no MAC with the fake."""
    return neighbour_mac if config.wifi.backend == "nft" else (lambda ip: "")
