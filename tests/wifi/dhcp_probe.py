"""A minimal DHCPv4 client for the namespace tests: broadcast a DISCOVER on an interface
and print the options of the OFFER as JSON (code -> text). Run as root inside a namespace:

    python tests/wifi/dhcp_probe.py IFACE
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
from pathlib import Path

MAGIC = bytes([99, 130, 83, 99])


def discover(mac: bytes, xid: int) -> bytes:
    header = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4),
                         bytes(4), bytes(4), mac + bytes(10), bytes(64), bytes(128))
    options = bytes([53, 1, 1, 55, 4, 1, 3, 6, 114, 255])
    return header + MAGIC + options


def parse_options(packet: bytes) -> dict[int, bytes]:
    found, i = {}, 240
    while i < len(packet) and packet[i] != 255:
        if packet[i] == 0:
            i += 1
            continue
        code, length = packet[i], packet[i + 1]
        found[code] = packet[i + 2:i + 2 + length]
        i += 2 + length
    return found


def main(interface: str) -> None:
    text = Path(f"/sys/class/net/{interface}/address").read_text().strip()
    mac = bytes.fromhex(text.replace(":", ""))
    xid = int.from_bytes(os.urandom(4), "big")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        sock.bind(("0.0.0.0", 68))
        sock.settimeout(1)
        packet = b""
        for _ in range(10):  # the server may still be starting: ask again every second
            sock.sendto(discover(mac, xid), ("255.255.255.255", 67))
            try:
                packet, _ = sock.recvfrom(4096)
            except TimeoutError:
                continue
            if packet[4:8] == xid.to_bytes(4, "big") and packet[236:240] == MAGIC:
                break
        else:
            raise SystemExit("no DHCP offer within 10 s")
    options = parse_options(packet)
    print(json.dumps({"yiaddr": socket.inet_ntoa(packet[16:20]),
                      **{str(code): value.decode("latin-1") for code, value in options.items()}}))


if __name__ == "__main__":
    main(sys.argv[1])
