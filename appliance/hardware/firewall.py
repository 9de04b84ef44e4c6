"""The captive portal's enforcement: an nftables table whose sets hold the accepted devices.

`render_ruleset(wifi, garden)` writes the table `inet epn_portal`:

- sets `allowed4`, `allowed6` (client addresses) and `allowed_mac` (a device's MAC, which
  opens IPv6 whatever (privacy) address the device takes) with `flags timeout` and a
  `counter` per element: the kernel ends a session by itself, and the counter gives the
  bytes used; with a byte quota, a `quota` per element too, past which the element no
  longer matches. IPv4 is counted both ways (downloads are accepted only to an allowed
  address, not merely as an established connection); IPv6 through the MAC is counted on
  the way out only, its replies riding on the established connection; a set
  `trusted_mac` (the EPN's own devices, from the configuration) goes through without the
  portal, its connections marked so that their replies come back;
- prerouting: a visitor's port-80 request is redirected to the portal unless the device is
  accepted (or the site is in the walled garden);
- forward: visitors reach the uplink only when accepted, or the walled garden; everything
  else is dropped, IPv4 and IPv6 alike; the set `paused` (an interface) stops everyone;
- input: from the visitors' network the appliance answers only DHCP, DNS, ICMP and the
  portal's port.

`NftFirewall` drives it through the `nft` command (`nft -f -` batches, `nft -j` to read);
it needs CAP_NET_ADMIN. `FakeFirewall` keeps the same state in memory. `firewall_for(config)`
picks one. Addresses are validated with `ipaddress` before they reach a command line.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from appliance.config import Config, WifiConfig

TABLE = "epn_portal"
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
SETS = {4: "allowed4", 6: "allowed6", "mac": "allowed_mac"}
TRUSTED_MARK = "0x45504e"  # connections of the EPN's own devices ("EPN")


class FirewallError(RuntimeError):
    """The nft command failed (missing, no permission, or refused the input)."""


@dataclass(frozen=True)
class Allowance:
    """One accepted address as the firewall sees it now."""

    address: str
    seconds_left: int
    bytes_used: int


def normalise(address: str) -> tuple[str, str]:
    """(set name, canonical text) of an IPv4, IPv6 or MAC address; ValueError otherwise."""
    text = str(address).strip().lower()
    if MAC.match(text.replace("-", ":")):
        return SETS["mac"], text.replace("-", ":")
    ip = ipaddress.ip_address(text)  # raises ValueError
    if getattr(ip, "scope_id", None):  # "fe80::1%anything": never on a command line
        raise ValueError("an address with a scope")
    return SETS[ip.version], str(ip)


def resolve_garden(entries: Iterable[str],
                   lookup: Callable[[str], list[str]] | None = None) -> tuple[list[str], list[str]]:
    """IPv4 and IPv6 networks of the walled garden; host names are resolved now (render
    time), a name that does not resolve is left out."""
    lookup = lookup or _lookup
    v4: list[str] = []
    v6: list[str] = []
    for entry in entries:
        try:
            networks = [ipaddress.ip_network(entry, strict=False)]
        except ValueError:
            networks = [ipaddress.ip_network(a) for a in lookup(entry)]
        for network in networks:
            target = v4 if network.version == 4 else v6
            if str(network) not in target:
                target.append(str(network))
    return v4, v6


def _lookup(name: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return sorted({info[4][0].split("%")[0] for info in infos})


def _elements(items: list[str]) -> str:
    return " elements = { " + ", ".join(items) + " };" if items else ""


def render_ruleset(wifi: WifiConfig, garden: tuple[list[str], list[str]] = ([], [])) -> str:
    """The nftables table, as a file for `nft -f` (reloading replaces the whole table;
    the sessions are then restored from the database)."""
    lan, wan, port = wifi.visitor_interface, wifi.uplink_interface, wifi.portal_port
    garden4, garden6 = garden
    v6 = bool(wifi.subnet_v6)
    # The portal, and its HTTPS address (a TLS proxy on the appliance) when it has one.
    ports = [53, port]
    if wifi.https_url:
        ports.append(urlsplit(wifi.https_url).port or 443)
    tcp_ports = ", ".join(str(p) for p in sorted(set(ports)))
    # Each element gets its own quota: past it, the element stops matching (portal again).
    quota = f" quota {wifi.byte_quota_mb} mbytes;" if wifi.byte_quota_mb else ""
    limit = ""
    if wifi.rate_limit_kbytes:
        rate = f"limit rate over {wifi.rate_limit_kbytes} kbytes/second"
        limit = (
            f'        iifname "{wan}" oifname "{lan}" meter rate4 {{ ip daddr {rate} }} drop\n'
            f'        iifname "{lan}" oifname "{wan}" meter rate4u {{ ip saddr {rate} }} drop\n'
            + (f'        iifname "{wan}" oifname "{lan}" meter rate6 {{ ip6 daddr {rate} }} drop\n'
               f'        iifname "{lan}" oifname "{wan}" meter rate6u {{ ip6 saddr {rate} }} drop\n'
               if v6 else "")
        )
    return f"""\
# Rendered by `epn wifi render` from the appliance's configuration: do not edit.
table inet {TABLE}
delete table inet {TABLE}
table inet {TABLE} {{
    set allowed4 {{ type ipv4_addr; flags timeout; counter;{quota} }}
    set allowed6 {{ type ipv6_addr; flags timeout; counter;{quota} }}
    set allowed_mac {{ type ether_addr; flags timeout; counter;{quota} }}
    set garden4 {{ type ipv4_addr; flags interval;{_elements(garden4)} }}
    set garden6 {{ type ipv6_addr; flags interval;{_elements(garden6)} }}
    set paused {{ type ifname; }}
    set trusted_mac {{ type ether_addr;{_elements(list(wifi.trusted_macs))} }}

    chain prerouting_visitors {{
        fib daddr type local tcp dport 80 redirect to :{port}
        iifname @paused tcp dport 80 redirect to :{port}
        ether saddr @trusted_mac return
        ip saddr @allowed4 return
        ip6 saddr @allowed6 return
        meta nfproto ipv6 ether saddr @allowed_mac return
        ip daddr @garden4 return
        ip6 daddr @garden6 return
        tcp dport 80 redirect to :{port}
    }}
    chain prerouting {{
        type nat hook prerouting priority dstnat; policy accept;
        iifname "{lan}" jump prerouting_visitors
    }}

    chain forward_visitors {{
        ether saddr @trusted_mac ct mark set {TRUSTED_MARK} accept
        ip saddr @allowed4 accept
        ip6 saddr @allowed6 accept
        meta nfproto ipv6 ether saddr @allowed_mac accept
        ip daddr @garden4 accept
        ip6 daddr @garden6 accept
        drop
    }}
    chain forward {{
        type filter hook forward priority filter; policy accept;
        iifname @paused drop
        oifname @paused drop
{limit}        iifname "{wan}" oifname "{lan}" ct mark {TRUSTED_MARK} accept
        iifname "{wan}" oifname "{lan}" ip daddr @allowed4 accept
        iifname "{wan}" oifname "{lan}" ip6 daddr @allowed6 accept
        iifname "{wan}" oifname "{lan}" ip saddr @garden4 ct state established,related accept
        iifname "{wan}" oifname "{lan}" ip6 saddr @garden6 ct state established,related accept
        iifname "{wan}" oifname "{lan}" meta nfproto ipv6 ct state established,related accept
        iifname "{wan}" oifname "{lan}" drop
        iifname "{lan}" oifname "{lan}" drop
        iifname "{lan}" jump forward_visitors
    }}

    chain input_visitors {{
        ct state established,related accept
        meta l4proto {{ icmp, ipv6-icmp }} accept
        udp dport {{ 53, 67, 547 }} accept
        tcp dport {{ {tcp_ports} }} accept
        drop
    }}
    chain input {{
        type filter hook input priority filter; policy accept;
        iifname "{lan}" jump input_visitors
    }}

    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "{wan}" iifname "{lan}" masquerade
    }}
}}
"""


Runner = Callable[[list[str], "str | None"], str]


def run_nft(args: list[str], stdin: str | None = None) -> str:
    """Run `nft ARGS` (or another command of the list), return its output; FirewallError."""
    try:
        done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise FirewallError(f"{args[0]}: {error}") from None
    if done.returncode != 0:
        raise FirewallError(f"{' '.join(args[:3])}: {done.stderr.strip()[:300]}")
    return done.stdout


class Firewall(Protocol):
    def load(self, ruleset: str) -> None: ...
    def allow(self, address: str, seconds: int) -> None: ...
    def revoke(self, address: str) -> None: ...
    def sessions(self) -> dict[str, Allowance]: ...
    def set_paused(self, paused: bool) -> None: ...
    def is_paused(self) -> bool: ...


class NftFirewall:
    """The real enforcement, through the `nft` command (CAP_NET_ADMIN needed)."""

    def __init__(self, interface: str, nft: str = "nft", run: Runner = run_nft) -> None:
        self.interface = interface
        self.nft = nft
        self.run = run

    def load(self, ruleset: str) -> None:
        self.run([self.nft, "-f", "-"], ruleset)

    def allow(self, address: str, seconds: int) -> None:
        """Open (or extend) access for `seconds`; the kernel closes it by itself after."""
        name, text = normalise(address)
        seconds = max(1, int(seconds))
        element = f"inet {TABLE} {name} {{ {text} }}"
        # Add, delete, add again with the timeout: refreshes the expiry on every kernel.
        batch = (f"add element {element}\ndelete element {element}\n"
                 f"add element inet {TABLE} {name} {{ {text} timeout {seconds}s }}\n")
        self.run([self.nft, "-f", "-"], batch)
        self._forget_connections(name, text)

    def revoke(self, address: str) -> None:
        name, text = normalise(address)
        element = f"inet {TABLE} {name} {{ {text} }}"
        # Adding first makes the delete succeed whether or not the element was there.
        self.run([self.nft, "-f", "-"], f"add element {element}\ndelete element {element}\n")
        self._forget_connections(name, text)

    def _forget_connections(self, name: str, text: str) -> None:
        """The redirect is decided once per connection: drop the device's tracked ones."""
        if name == SETS["mac"]:
            return
        try:
            self.run(["conntrack", "-D", "-s", text], None)
        except FirewallError:
            pass  # exit 1: nothing matched; or conntrack is not installed

    def sessions(self) -> dict[str, Allowance]:
        found: dict[str, Allowance] = {}
        for name in SETS.values():
            output = self.run([self.nft, "-j", "list", "set", "inet", TABLE, name], None)
            found.update(parse_set(output))
        return found

    def set_paused(self, paused: bool) -> None:
        element = f'inet {TABLE} paused {{ "{self.interface}" }}'
        batch = f"add element {element}\n" + ("" if paused else f"delete element {element}\n")
        self.run([self.nft, "-f", "-"], batch)

    def is_paused(self) -> bool:
        output = self.run([self.nft, "-j", "list", "set", "inet", TABLE, "paused"], None)
        return bool(_set_entries(output))


def _set_entries(output: str) -> list:
    for item in json.loads(output).get("nftables", []):
        if "set" in item:
            return item["set"].get("elem", [])
    return []


def parse_set(output: str) -> dict[str, Allowance]:
    """The elements of `nft -j list set ...`: address -> time left and bytes counted."""
    found = {}
    for entry in _set_entries(output):
        elem = entry.get("elem", {}) if isinstance(entry, dict) else {}
        value = elem.get("val", entry if isinstance(entry, str) else None)
        if not isinstance(value, str):
            continue
        counter = elem.get("counter", {})
        found[value] = Allowance(value, int(elem.get("expires", 0)), int(counter.get("bytes", 0)))
    return found


class FakeFirewall:
    """The same interface in memory, with a clock, for tests and the demo."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.expiry: dict[str, float] = {}
        self.bytes: dict[str, int] = {}
        self.paused = False
        self.ruleset = ""

    def load(self, ruleset: str) -> None:
        self.ruleset = ruleset
        self.expiry.clear()
        self.bytes.clear()
        self.paused = False

    def allow(self, address: str, seconds: int) -> None:
        _, text = normalise(address)
        self.expiry[text] = self.clock() + max(1, int(seconds))
        self.bytes.setdefault(text, 0)

    def revoke(self, address: str) -> None:
        _, text = normalise(address)
        self.expiry.pop(text, None)
        self.bytes.pop(text, None)

    def use(self, address: str, count: int) -> None:
        """Test helper: the device moved `count` bytes."""
        _, text = normalise(address)
        if text in self.sessions():
            self.bytes[text] += count

    def sessions(self) -> dict[str, Allowance]:
        now = self.clock()
        for text in [t for t, end in self.expiry.items() if end <= now]:
            self.revoke(text)
        return {t: Allowance(t, int(end - now), self.bytes.get(t, 0)) for t, end in self.expiry.items()}

    def set_paused(self, paused: bool) -> None:
        self.paused = paused

    def is_paused(self) -> bool:
        return self.paused


_fakes: dict[str, FakeFirewall] = {}


def firewall_for(config: Config) -> Firewall:
    """The configured enforcement: nft for real, or one in-memory fake per data directory."""
    if config.wifi.backend == "nft":
        return NftFirewall(config.wifi.visitor_interface)
    return _fakes.setdefault(str(config.data_dir), FakeFirewall())


def ruleset_for(config: Config) -> str:
    wifi = config.wifi
    return render_ruleset(wifi, resolve_garden(wifi.walled_garden))
