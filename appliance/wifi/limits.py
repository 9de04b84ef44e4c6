"""A small limiter of acceptance attempts per device (house rules, vouchers, resume codes).

It lives in each web worker's memory (a flood is then capped at `workers x limit` a
minute, which is what matters against guessing codes) and keeps no address after a
minute. Nothing here is logged.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class TooManyAttempts(Exception):
    """The device tried too often in the last minute: nothing was checked."""


class AttemptLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Count one attempt by `key`; TooManyAttempts past the limit."""
        now = self.clock()
        with self._lock:
            if len(self._seen) > 10_000:  # a flood of addresses: forget the idle ones
                self._forget(now)
            attempts = self._seen.setdefault(key, deque())
            while attempts and attempts[0] <= now - 60:
                attempts.popleft()
            if len(attempts) >= self.per_minute:
                raise TooManyAttempts()
            attempts.append(now)

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._seen.items() if not v or v[-1] <= now - 60]:
            del self._seen[key]
