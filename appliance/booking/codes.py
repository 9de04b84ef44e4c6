"""Booking codes: short, unambiguous, unguessable; their QR code; a limit on wrong guesses."""

from __future__ import annotations

import hashlib
import io
import secrets
import threading
import time

import segno

# Crockford's base32: no I, L, O or U, so nothing is misread or misheard.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8  # 40 bits: about 10^12 codes, against a handful of guesses a client may try
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_code(text: str) -> str | None:
    """What a visitor typed (spaces, dashes, lower case, O for 0) -> a code, or None."""
    cleaned = "".join(text.split()).replace("-", "").upper().translate(_READ_AS)
    if len(cleaned) != LENGTH or any(char not in ALPHABET for char in cleaned):
        return None
    return cleaned


def format_code(code: str) -> str:
    """`7KQ2MX9D` -> `7KQ2-MX9D`, easier to read aloud and copy."""
    return f"{code[:4]}-{code[4:]}"


def qr_svg(code: str) -> str:
    """The booking code as a QR code (the code only), inline SVG."""
    buffer = io.BytesIO()
    segno.make(code, error="m").save(
        buffer, kind="svg", scale=6, border=2, xmldecl=False, svgns=True,
        title=None, desc=None, svgclass="qr", lineclass=None,
    )
    return buffer.getvalue().decode("utf-8")


class WrongCodeLimiter:
    """Counts wrong codes per client, in memory, keyed by a salted hash of the address
    (the address itself is never kept). After `attempts` wrong codes within `window`
    seconds the client must wait until the oldest one leaves the window."""

    def __init__(self) -> None:
        self._salt = secrets.token_bytes(16)
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _key(self, address: str) -> str:
        return hashlib.sha256(self._salt + address.encode()).hexdigest()

    def wait_seconds(self, address: str, attempts: int, window: float, now: float | None = None) -> int:
        """0 when the client may try a code; otherwise how long it must wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._failures.get(self._key(address), []) if now - t < window]
            if len(recent) < attempts:
                return 0
            return max(1, int(window - (now - recent[-attempts])) + 1)

    def failed(self, address: str, window: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            key = self._key(address)
            self._failures[key] = [t for t in self._failures.get(key, []) if now - t < window] + [now]
            if len(self._failures) > 10_000:  # forget the stalest clients, memory stays bounded
                for stale in sorted(self._failures, key=lambda k: self._failures[k][-1])[:5_000]:
                    del self._failures[stale]
