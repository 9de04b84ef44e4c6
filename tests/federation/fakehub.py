"""A small hub for the appliance's tests: enrolment, reports and key rotation as in
docs/protocol.md, in a werkzeug server on a thread, with knobs for faults.

It keeps what it accepted so tests can count: each distinct report stored once, in order.
Faults: `script` answers the next report requests with given statuses (or "hang"),
`hold` makes it store a report and then wait before answering, `stop()`/`start()` take it
off the network and back on the same port.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from appliance.federation import keys
from appliance.federation.canonical import CanonicalError, parse_strict
from appliance.federation.schema import SchemaError, validate_report
from tests.conftest import free_port


@dataclass
class Scripted:
    status: int | str  # an HTTP status, or "hang"
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FakeHub:
    def __init__(self, name: str = "fakehub") -> None:
        self.name = name
        self.tokens: dict[str, str] = {}  # one-time token -> EPN id
        self.keys: dict[str, tuple[str, Any]] = {}  # key id -> (EPN id, public key)
        self.revoked: set[str] = set()
        self.bodies: dict[tuple[str, int], bytes] = {}  # (EPN, sequence) -> stored bytes
        self.period_sequence: dict[tuple[str, str], int] = {}
        self.accepted: list[dict[str, Any]] = []  # each stored report, in arrival order
        self.last_sequence: dict[str, int] = {}
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.answers: list[int] = []
        self.script: deque[Scripted] = deque()
        self.hold = threading.Event()  # set: answers wait for `release` after storing
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None

    # -- network ------------------------------------------------------------------------
    def start(self) -> FakeHub:
        self._server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- coordination side --------------------------------------------------------------
    def add_epn(self, epn: str = "epn-7") -> str:
        token = secrets.token_urlsafe(16)
        self.tokens[token] = epn
        return token

    def accepted_sequences(self, epn: str = "epn-7") -> list[int]:
        return [body["sequence"] for body in self.accepted if body["epn"] == epn]

    # -- HTTP ---------------------------------------------------------------------------
    def wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        data = request.get_data()
        with self.lock:
            self.received.append((request.path, dict(request.headers), data))
        route = {"/api/v1/enrol": self._enrol, "/api/v1/reports": self._report,
                 "/api/v1/keys/rotate": self._rotate}.get(request.path)
        status, body, headers = route(request, data) if route else (404, {"status": "not_found"}, {})
        with self.lock:
            self.answers.append(status)
        response = Response(json.dumps(body), status=status, headers=headers,
                            content_type="application/json")
        return response(environ, start_response)

    def _enrol(self, request: Request, data: bytes) -> tuple[int, dict, dict]:
        try:
            payload = parse_strict(data)
            token, public_b64, proof = payload["token"], payload["public_key"], payload["proof"]
            public = keys.public_key_from_bytes(keys.unb64(public_b64))
        except (CanonicalError, KeyError, TypeError, ValueError):
            return 400, {"status": "malformed", "reason": "bad enrolment body"}, {}
        epn = self.tokens.pop(token, None)
        if epn is None or not keys.verify(public, keys.ENROL_CONTEXT, f"{token}\n{public_b64}".encode(), proof):
            return 401, {"status": "refused", "reason": "unknown token or bad proof"}, {}
        raw = keys.unb64(public_b64)
        key_id = keys.key_id(raw)
        if key_id in self.revoked:
            return 401, {"status": "refused", "reason": "revoked_key",
                         "message": "this key was revoked: make a new one"}, {}
        with self.lock:
            self.keys[key_id] = (epn, public)
        return 200, {"hub": self.name, "epn": epn, "key_id": key_id,
                     "fingerprint": keys.fingerprint(raw),
                     "last_sequence": self.last_sequence.get(epn, 0)}, {}

    def _scripted(self) -> Scripted | None:
        with self.lock:
            return self.script.popleft() if self.script else None

    def _report(self, request: Request, data: bytes) -> tuple[int, dict, dict]:
        scripted = self._scripted()
        if scripted is not None:
            if scripted.status == "hang":
                self.release.wait(30)
                return 503, {"status": "unavailable"}, {}
            return int(scripted.status), scripted.body, scripted.headers
        key_id = request.headers.get("EPN-Key-Id", "")
        known = self.keys.get(key_id)
        if known is None or key_id in self.revoked:
            return 401, {"status": "refused", "reason": "revoked_key" if known else "unknown_key"}, {}
        epn, public = known
        if not keys.verify(public, keys.REPORT_CONTEXT, data, request.headers.get("EPN-Signature", "")):
            return 401, {"status": "refused", "reason": "bad_signature"}, {}
        try:
            body = parse_strict(data)
            validate_report(body)
        except (CanonicalError, SchemaError) as error:
            return 422, {"status": "refused", "reason": f"schema: {error}"}, {}
        if body["hub"] != self.name or body["epn"] != epn:
            return 422, {"status": "refused", "reason": "wrong_hub"}, {}
        return self._store(epn, body, data)

    def _store(self, epn: str, body: dict, data: bytes) -> tuple[int, dict, dict]:
        sequence, period = body["sequence"], body["period"]
        summary = {"report_id": body["report_id"], "epn": epn, "period": period, "sequence": sequence}
        with self.lock:
            earlier = self.bodies.get((epn, sequence))
            if earlier == data:
                return 200, {**summary, "status": "duplicate", "reason": ""}, {}
            if earlier is not None:
                return 409, {**summary, "status": "refused", "reason": "conflict"}, {}
            last = self.period_sequence.get((epn, period), 0)
            if sequence < last:
                return 409, {**summary, "status": "refused", "reason": "stale"}, {}
            self.bodies[(epn, sequence)] = data
            self.period_sequence[(epn, period)] = sequence
            self.last_sequence[epn] = max(self.last_sequence.get(epn, 0), sequence)
            self.accepted.append(body)
            word = "correction" if last else "accepted"
        if self.hold.is_set():
            self.release.wait(30)
        return 201, {**summary, "status": word, "last_sequence": self.last_sequence[epn], "reason": ""}, {}

    def _rotate(self, request: Request, data: bytes) -> tuple[int, dict, dict]:
        try:
            body = parse_strict(data)
            old_id, new_raw = body["old_key_id"], keys.unb64(body["new_public_key"])
            new_public = keys.public_key_from_bytes(new_raw)
        except (CanonicalError, KeyError, TypeError, ValueError):
            return 400, {"status": "malformed", "reason": "bad rotation body"}, {}
        known = self.keys.get(old_id)
        if known is None or old_id in self.revoked:
            return 401, {"status": "refused", "reason": "unknown_key"}, {}
        epn, old_public = known
        if not (keys.verify(old_public, keys.ROTATE_CONTEXT, data, request.headers.get("EPN-Signature-Old", ""))
                and keys.verify(new_public, keys.ROTATE_CONTEXT, data, request.headers.get("EPN-Signature-New", ""))):
            return 401, {"status": "refused", "reason": "bad_signature"}, {}
        new_id = keys.key_id(new_raw)
        with self.lock:
            self.keys[new_id] = (epn, new_public)
            self.revoked.add(old_id)
        return 200, {"status": "rotated", "epn": epn, "key_id": new_id,
                     "fingerprint": keys.fingerprint(new_raw)}, {}
