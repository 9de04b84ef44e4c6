"""Every refusal of docs/protocol.md, each with its own status and reason, and nothing
stored: the hub verifies the bytes it received before it trusts any of them."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.federation import keys
from appliance.federation.hub.db import database
from appliance.federation.hub.epns import revoke_key
from tests.hub.conftest import NOW, WEEK, Appliance, make_hub_app, stored, write_hub_config


def _refused(response, status: int, reason: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert (response.status_code, body["reason"]) == (status, reason), body
    assert body["status"] == "refused" and body["message"]
    return body


def _tampered(appliance: Appliance) -> tuple[bytes, dict[str, str]]:
    raw = appliance.body("2026-W47", WEEK)
    headers = appliance.headers(raw)
    return raw.replace(b'"visits.total":70', b'"visits.total":71'), headers


def _resigned(appliance: Appliance, raw: bytes) -> tuple[bytes, dict[str, str]]:
    return raw, appliance.headers(raw)


def _text(appliance: Appliance, text: str) -> tuple[bytes, dict[str, str]]:
    return _resigned(appliance, text.encode())


CASES = {
    # name: (build(appliance) -> (body, headers), status, reason)
    "a tampered byte": (_tampered, 401, "bad_signature"),
    "a signature by another key": (lambda a: (raw := a.body("2026-W47", WEEK),
                                              a.headers(raw, key=Ed25519PrivateKey.generate())), 401,
                                   "bad_signature"),
    "a signature for another purpose": (lambda a: (raw := a.body("2026-W47", WEEK), {
        "EPN-Key-Id": a.key_id, "EPN-Signature": keys.sign(a.key, keys.ENROL_CONTEXT, raw)}), 401,
        "bad_signature"),
    "no signature": (lambda a: (a.body("2026-W47", WEEK), {"EPN-Key-Id": a.key_id}), 401, "bad_signature"),
    "a signature that is not base64": (lambda a: (a.body("2026-W47", WEEK), {
        "EPN-Key-Id": a.key_id, "EPN-Signature": "%%%"}), 401, "bad_signature"),
    "an unknown key": (lambda a: (raw := a.body("2026-W47", WEEK), a.headers(raw, key_id="00" * 8)), 401,
                       "unknown_key"),
    "no key id": (lambda a: (a.body("2026-W47", WEEK), {}), 401, "unknown_key"),
    "malformed JSON": (lambda a: _text(a, '{"epn": '), 400, "malformed"),
    "not UTF-8": (lambda a: _resigned(a, b'{"epn":"\xff"}'), 400, "malformed"),
    "a duplicate key": (lambda a: _text(a, '{"epn":"a","epn":"b"}'), 400, "malformed"),
    "a float figure": (lambda a: _resigned(a, a.body("2026-W47", WEEK).replace(b":70,", b":70.0,")), 400,
                       "malformed"),
    "a body that is not canonical": (lambda a: _resigned(a, a.body("2026-W47", WEEK) + b" "), 400, "malformed"),
    "an empty body": (lambda a: _resigned(a, b""), 400, "malformed"),
    "a string figure": (lambda a: _resigned(a, a.body("2026-W47", {**WEEK, "visits.total": "70"})), 422, "schema"),
    "a boolean figure": (lambda a: _resigned(a, a.body("2026-W47", {**WEEK, "visits.total": True})), 422,
                         "schema"),
    "a negative figure": (lambda a: _resigned(a, a.body("2026-W47", {**WEEK, "visits.total": -1})), 422, "schema"),
    "a figure outside the schema": (lambda a: _resigned(a, a.body("2026-W47", {**WEEK, "visitor.email": 1})),
                                    422, "schema"),
    "a field outside the envelope": (lambda a: _resigned(a, a.body("2026-W47", WEEK, comment="Ali, 34")), 422,
                                     "schema"),
    "a missing field": (lambda a: _resigned(a, a.body("2026-W47", WEEK, report_id=None)), 422, "schema"),
    "an unknown schema version": (lambda a: _resigned(a, a.body("2026-W47", WEEK, schema=99)), 422, "schema"),
    "another protocol": (lambda a: _resigned(a, a.body("2026-W47", WEEK, protocol="epn-report/9")), 422,
                         "schema"),
    "survey figures in a week report": (lambda a: _resigned(a, a.body("2026-W47", {**WEEK, "survey.responses": 9})),
                                        422, "schema"),
    "a period written loosely": (lambda a: _resigned(a, a.body("2026-W47 ", WEEK)), 422, "schema"),
    "a period past the calendar": (lambda a: _resigned(a, a.body("9999-W52", WEEK)), 422, "schema"),
    "an impossible created_at": (lambda a: _resigned(a, a.body("2026-W47", WEEK, created_at="2026-02-30T00:00:00Z")),
                                 422, "schema"),
    "another hub": (lambda a: _resigned(a, a.body("2026-W47", WEEK, hub="wallonia")), 422, "wrong_hub"),
    "another EPN": (lambda a: _resigned(a, a.body("2026-W47", WEEK, epn="epn-99")), 422, "wrong_epn"),
    "another key id in the body": (lambda a: _resigned(a, a.body("2026-W47", WEEK, key_id="0" * 16)), 422,
                                   "wrong_epn"),
    "created_at in the future": (lambda a: _resigned(a, a.body("2026-W47", WEEK, created_at="2026-11-25T09:03:00Z")),
                                 422, "clock"),
    "a period not over yet": (lambda a: _resigned(a, a.body("2026-W48", WEEK, created_at="2026-11-25T08:00:00Z")),
                              422, "clock"),
    "created before its period ended": (lambda a: _resigned(a, a.body("2026-W47", WEEK,
                                                                      created_at="2026-11-22T12:00:00Z")),
                                        422, "clock"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_refusal_has_its_own_status_and_reason_and_stores_nothing(appliance: Appliance, case: str):
    build, status, reason = CASES[case]
    appliance.report("2026-W46", WEEK)  # something stored already, which must not change
    before = stored()
    raw, headers = build(appliance)
    _refused(appliance.client.post("/api/v1/reports", data=raw, headers=headers), status, reason)
    assert stored() == before


def test_a_revoked_key_is_refused_from_the_next_request(appliance: Appliance):
    assert appliance.report("2026-W46", WEEK).status_code == 201
    with database.connection_context():
        revoke_key(appliance.key_id, NOW)
    before = stored()
    _refused(appliance.report("2026-W47", WEEK), 401, "revoked_key")
    assert stored() == before


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(hub_dir, tmp_path):  # type: ignore[no-untyped-def]
    from tests.hub.conftest import enrol_appliance

    app = make_hub_app({"DATA_DIR": write_hub_config(tmp_path / "small", "  max_report_kb: 4\n"),
                        "TESTING": True})
    appliance = enrol_appliance(app.test_client())
    raw = appliance.body("2026-W47", {f"visits.hour.{h:02d}": 10**9 for h in range(24)}, report_id="r" * 64)
    raw = raw + b" " * (4096 - len(raw) + 1)
    before = stored()
    _refused(appliance.push(raw), 413, "too_large")
    # Without Content-Length (chunked), the hub reads one byte past the limit and stops.
    chunked = app.test_client().post("/api/v1/reports", headers=appliance.headers(raw), environ_overrides={
        "wsgi.input": _Chunks(raw), "wsgi.input_terminated": True, "CONTENT_LENGTH": ""})
    _refused(chunked, 413, "too_large")
    assert stored() == before


class _Chunks:
    """A body stream of unknown length."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        size = len(self.data) if size < 0 else size
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def test_refusals_after_the_signature_tell_the_epn_its_last_sequence(appliance: Appliance):
    appliance.report("2026-W46", WEEK)
    body = _refused(appliance.report("2026-W47", WEEK, hub="wallonia"), 422, "wrong_hub")
    assert body["epn"] == appliance.epn and body["last_sequence"] == 1 and body["sequence"] == 2


def test_a_late_report_for_a_long_closed_period_is_accepted(appliance: Appliance):
    response = appliance.report("2025-W03", WEEK)
    assert response.status_code == 201, response.get_json()
    assert appliance.report("2024", {"visits.total": 4000}).status_code == 201


def test_a_report_for_one_hub_is_refused_by_another_that_knows_the_key(appliance: Appliance, tmp_path):  # type: ignore[no-untyped-def]
    from appliance.federation.hub.db import database as hub_database
    from tests.hub.conftest import enrolment_request, new_epn

    raw = appliance.body("2026-W47", WEEK)
    headers = appliance.headers(raw)
    other = make_hub_app({"DATA_DIR": write_hub_config(tmp_path / "other"), "TESTING": True,
                          "SETTINGS": {"hub": {"name": "wallonia"}}})
    _, token = new_epn()  # the same EPN id, epn-1, and the same key, enrolled there too
    assert other.test_client().post("/api/v1/enrol", json=enrolment_request(token, appliance.key)).status_code == 200
    _refused(other.test_client().post("/api/v1/reports", data=raw, headers=headers), 422, "wrong_hub")
    assert hub_database.obj is not None
