"""The one way the hub says no: an HTTP status, a stable reason code and a message."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A request the hub refuses; nothing has been stored.

    `reason` is a stable code that appliances act on (docs/protocol.md); `message` says
    what was wrong, in one line, for the operator; `context` carries what is known of the
    report (its id, EPN, period, sequence, the EPN's last accepted sequence).
    """

    def __init__(self, status: int, reason: str, message: str, **context: Any) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.context = context

    def answer(self) -> dict[str, Any]:
        return {"error": self.status, "reason": self.reason, "message": self.message, **self.context}
