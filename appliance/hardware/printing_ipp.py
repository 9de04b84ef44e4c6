"""A minimal IPP/1.1 client over HTTP (stdlib only), enough to read CUPS's job and printer
states and fetch a held job's document.

CUPS's command-line tools print for people; their output changes with the locale and the
version. IPP answers with numbers (job-state 9 is completed, 7 canceled), so the appliance
reads states through IPP and acts through the CLI tools (`lp`, `cancel`, `lpadmin`, ...),
which handle local authentication for administrative operations.
"""

from __future__ import annotations

import http.client
import os
import pwd
import socket
import struct
from typing import Any

# Operations (RFC 8011 and CUPS extensions).
GET_JOB_ATTRIBUTES = 0x0009
GET_JOBS = 0x000A
CUPS_GET_PRINTERS = 0x4002
CUPS_GET_DOCUMENT = 0x4027

# Delimiter tags and value tags.
OPERATION_GROUP, JOB_GROUP, END, PRINTER_GROUP = 0x01, 0x02, 0x03, 0x04
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
DATETIME, RESOLUTION, RANGE = 0x31, 0x32, 0x33
TEXT_LANG, NAME_LANG = 0x35, 0x36
KEYWORD, URI, CHARSET, LANGUAGE, NAME = 0x44, 0x45, 0x47, 0x48, 0x42

Attributes = dict[str, Any]


class IppError(Exception):
    """CUPS could not be reached, or answered with an error status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over CUPS's local domain socket (CUPS_SERVER=/run/cups/cups.sock)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def _attribute(tag: int, name: str, values: list[Any]) -> bytes:
    out = b""
    for index, value in enumerate(values):
        if tag in (INTEGER, ENUM):
            raw = struct.pack(">i", value)
        elif tag == BOOLEAN:
            raw = b"\x01" if value else b"\x00"
        else:
            raw = str(value).encode("utf-8")
        label = name.encode("ascii") if index == 0 else b""
        out += struct.pack(">bH", tag, len(label)) + label + struct.pack(">H", len(raw)) + raw
    return out


def encode_request(operation: int, request_id: int, attributes: list[tuple[int, str, Any]]) -> bytes:
    """An IPP request: charset and language first, then the operation's attributes."""
    body = struct.pack(">bbhi", 2, 0, operation, request_id) + bytes([OPERATION_GROUP])
    body += _attribute(CHARSET, "attributes-charset", ["utf-8"])
    body += _attribute(LANGUAGE, "attributes-natural-language", ["en"])
    for tag, name, value in attributes:
        body += _attribute(tag, name, value if isinstance(value, list) else [value])
    return body + bytes([END])


def _value(tag: int, raw: bytes) -> Any:
    if tag in (INTEGER, ENUM) and len(raw) == 4:
        return struct.unpack(">i", raw)[0]
    if tag == BOOLEAN:
        return raw != b"\x00"
    if tag in (DATETIME, RESOLUTION, RANGE):
        return raw
    if tag in (TEXT_LANG, NAME_LANG) and len(raw) >= 4:
        skip = struct.unpack(">H", raw[:2])[0]
        text_at = 2 + skip
        return raw[text_at + 2 :].decode("utf-8", "replace")
    if tag < 0x20:  # out-of-band values (unknown, no-value)
        return None
    return raw.decode("utf-8", "replace")


def decode_response(data: bytes) -> tuple[int, list[tuple[int, Attributes]], bytes]:
    """(status, [(group tag, attributes)], trailing document data) of an IPP response.

    Attributes with several values come back as lists; single values as themselves."""
    if len(data) < 9:
        raise IppError("CUPS sent a truncated answer")
    status = struct.unpack(">H", data[2:4])[0]
    groups: list[tuple[int, Attributes]] = []
    position, name = 8, ""
    while position < len(data):
        tag = data[position]
        position += 1
        if tag == END:
            return status, groups, data[position:]
        if tag < 0x10:
            groups.append((tag, {}))
            continue
        name_length = struct.unpack(">H", data[position : position + 2])[0]
        position += 2
        label = data[position : position + name_length].decode("ascii", "replace")
        position += name_length
        value_length = struct.unpack(">H", data[position : position + 2])[0]
        position += 2
        value = _value(tag, data[position : position + value_length])
        position += value_length
        if not groups:
            raise IppError("CUPS sent an answer without attribute groups")
        attributes = groups[-1][1]
        if label:
            name = label
            attributes[name] = value
        else:  # another value of the previous attribute
            previous = attributes.get(name)
            attributes[name] = (previous if isinstance(previous, list) else [previous]) + [value]
    raise IppError("CUPS sent an answer without its end tag")


class IppClient:
    """Sends IPP requests to one CUPS server: `host:port` or the path of its socket."""

    def __init__(self, server: str, timeout: float = 10.0) -> None:
        self.server = server
        self.timeout = timeout
        self._request_id = 0

    def _connection(self) -> http.client.HTTPConnection:
        if self.server.startswith("/"):
            return _UnixConnection(self.server, self.timeout)
        return http.client.HTTPConnection(self.server, timeout=self.timeout)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/ipp"}
        if self.server.startswith("/"):
            # On CUPS's socket the kernel vouches for our uid (as libcups does): an account
            # in CUPS's SystemGroup may then read job names and documents.
            headers["Authorization"] = f"PeerCred {pwd.getpwuid(os.getuid()).pw_name}"
        return headers

    def printer_uri(self, printer: str | None = None) -> str:
        return "ipp://localhost/" + (f"printers/{printer}" if printer else "")

    def request(
        self, operation: int, attributes: list[tuple[int, str, Any]]
    ) -> tuple[list[tuple[int, Attributes]], bytes]:
        """Send one request; return its attribute groups and any document data."""
        self._request_id += 1
        body = encode_request(operation, self._request_id, attributes)
        connection = self._connection()
        try:
            connection.request("POST", "/", body=body, headers=self._headers())
            response = connection.getresponse()
            data = response.read()
        except OSError as error:
            raise IppError(f"CUPS at {self.server} cannot be reached ({error.__class__.__name__})") from None
        finally:
            connection.close()
        if response.status != 200:
            raise IppError(f"CUPS answered HTTP {response.status}", response.status)
        try:
            status, groups, document = decode_response(data)
        except (struct.error, UnicodeDecodeError):
            raise IppError("CUPS sent an answer that is not IPP") from None
        if status >= 0x0400:
            raise IppError(f"CUPS refused the request (IPP status 0x{status:04x})", status)
        return groups, document
