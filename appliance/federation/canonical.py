"""Canonical JSON (RFC 8785, JCS) for report bodies, and a strict parser.

Reports hold only objects with string keys, strings, integers, booleans and lists, so
canonicalisation is: keys sorted by UTF-16 code units, no whitespace, strings escaped as
ECMAScript's JSON.stringify does, integers in plain decimal. Floats are refused outright
(a figure is a count), and so are integers outside the IEEE-754 safe range, which other
JSON implementations could not read back exactly.
"""

from __future__ import annotations

import json
from typing import Any

SAFE_INTEGER = 2**53 - 1
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class CanonicalError(ValueError):
    """The value cannot be put in (or read from) the canonical form."""


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


def _encode(value: Any, out: list[str]) -> None:
    if value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        if abs(value) > SAFE_INTEGER:
            raise CanonicalError(f"integer {value} is outside the safe range")
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for index, key in enumerate(sorted(value, key=_utf16_key)):
            if not isinstance(key, str):
                raise CanonicalError("object keys must be strings")
            if index:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise CanonicalError(f"{type(value).__name__} has no canonical form here (floats are refused)")


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 serialisation of `value`, as UTF-8 bytes."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_float(text: str) -> Any:
    raise CanonicalError(f"{text} is not an integer")


def _no_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not allowed")


def parse_strict(data: bytes) -> Any:
    """Parse JSON refusing duplicate keys, floats, NaN/Infinity and invalid UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CanonicalError("the body is not UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_float,
                          parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise CanonicalError(f"malformed JSON at character {error.pos}") from None
    except RecursionError:
        raise CanonicalError("the JSON is nested too deeply") from None


def is_canonical(data: bytes) -> bool:
    """True when `data` is exactly the canonical form of what it encodes."""
    try:
        return canonical_bytes(parse_strict(data)) == data
    except CanonicalError:
        return False
