"""Random bodies and headers thrown at the hub's appliance endpoints: never a 5xx.

Besides raw noise, most examples are signed with an enrolled key, so they get past the
signature check and exercise the parser, the schema, the clock and the sequence rules.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.federation import keys
from appliance.federation.canonical import CanonicalError, canonical_bytes
from appliance.federation.schema import SCHEMAS
from tests.hub.conftest import WEEK, Appliance

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ALLOWED = sorted(SCHEMAS[1])
json_leaf = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats() | st.text(max_size=20)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
# Mostly valid values, so that many reports get through to the sequence rules.
figure_value = st.one_of(st.integers(0, 1000), st.integers(0, 1000), st.integers(0, 1000), st.integers(-5, 2**54),
                         st.floats(), st.text(max_size=5), st.booleans(), st.none())
header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=100)


def _serialise(value: Any) -> bytes:
    try:
        return canonical_bytes(value)
    except CanonicalError:
        return json.dumps(value, allow_nan=True).encode()


def check_no_server_error(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.is_json


@FUZZ
@given(body=st.binary(max_size=600), key_id=st.none() | header_value, signature=st.none() | header_value,
       use_real_key=st.booleans())
def test_random_bytes_and_headers_never_get_a_5xx(appliance: Appliance, body, key_id, signature, use_real_key):  # type: ignore[no-untyped-def]
    headers = {}
    if use_real_key:
        headers = appliance.headers(body)
    if key_id is not None:
        headers["EPN-Key-Id"] = key_id
    if signature is not None:
        headers["EPN-Signature"] = signature
    check_no_server_error(appliance.client.post("/api/v1/reports", data=body, headers=headers))


@FUZZ
@given(value=json_value)
def test_random_signed_json_never_gets_a_5xx(appliance: Appliance, value):  # type: ignore[no-untyped-def]
    check_no_server_error(appliance.push(_serialise(value)))


@FUZZ
@given(field=st.sampled_from(["protocol", "schema", "hub", "epn", "key_id", "period", "sequence",
                              "report_id", "created_at", "figures", "extra"]) | st.just("none"),
       replacement=json_value,
       figures=st.dictionaries(st.sampled_from(ALLOWED), figure_value, max_size=8)
       | st.dictionaries(st.sampled_from(ALLOWED) | st.text(max_size=12), figure_value, max_size=8),
       period=st.sampled_from(["2026-W47", "2026-10", "2025", "2026-W53", "9999-W52", "0000", "2026-13"]),
       sequence=st.integers(1, 40) | st.integers(-3, 2**53 + 3))
def test_signed_reports_with_random_fields_never_get_a_5xx(appliance: Appliance, field, replacement, figures,  # type: ignore[no-untyped-def]
                                                            period, sequence):
    report = appliance.envelope(period, {**WEEK, **figures}, sequence=sequence)
    if field != "none":  # "none": a well-formed report with random figures
        report[field] = replacement
    check_no_server_error(appliance.push(_serialise(report)))


@FUZZ
@given(body=json_value | st.fixed_dictionaries({"token": json_value, "public_key": json_value, "proof": json_value}),
       old=header_value, new=header_value)
def test_random_enrolments_and_rotations_never_get_a_5xx(appliance: Appliance, body, old, new):  # type: ignore[no-untyped-def]
    raw = _serialise(body)
    check_no_server_error(appliance.client.post("/api/v1/enrol", data=raw, headers={"Content-Type": "application/json"}))
    rotation = _serialise({"epn": appliance.epn, "old_key_id": appliance.key_id, "new_public_key": body,
                           "created_at": "2026-11-25T08:00:00Z"} if isinstance(body, str) else body)
    signed = keys.sign(appliance.key, keys.ROTATE_CONTEXT, rotation)
    check_no_server_error(appliance.client.post("/api/v1/keys/rotate", data=rotation,
                              headers={"EPN-Signature-Old": signed, "EPN-Signature-New": new}))
