"""Enrolment: a one-time token that expires and is stored hashed, a proof of possession
of the private key, one live key per EPN; key rotation signed by both keys, and
revocation that takes effect at once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.federation import keys
from appliance.federation.canonical import canonical_bytes
from appliance.federation.hub.db import database
from appliance.federation.hub.epns import enrolment_token, new_enrolment_token, revoke_key
from appliance.federation.hub.models import EPN, EnrolmentToken, Key
from tests.hub.conftest import (
    HUB_NAME,
    NOW,
    WEEK,
    Appliance,
    enrol_appliance,
    enrolment_request,
    new_epn,
)


def _enrol(client, body):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/enrol", json=body)
    return response.status_code, response.get_json()


def test_enrolment_answers_the_hub_epn_key_and_fingerprint(hub_client):  # type: ignore[no-untyped-def]
    epn_id, token = new_epn()
    key = Ed25519PrivateKey.generate()
    status, answer = _enrol(hub_client, enrolment_request(token, key))
    public = keys.public_bytes(key)
    assert status == 200
    assert answer == {"hub": HUB_NAME, "epn": epn_id, "key_id": keys.key_id(public),
                      "fingerprint": keys.fingerprint(public), "last_sequence": 0}
    with database.connection_context():
        assert EPN.get_by_id(epn_id).enrolled_at is not None


def test_an_enrolment_token_works_once(hub_client):  # type: ignore[no-untyped-def]
    _, token = new_epn()
    assert _enrol(hub_client, enrolment_request(token, Ed25519PrivateKey.generate()))[0] == 200
    status, answer = _enrol(hub_client, enrolment_request(token, Ed25519PrivateKey.generate()))
    assert (status, answer["reason"]) == (401, "used_token")


def test_an_expired_token_is_refused(hub_app):  # type: ignore[no-untyped-def]
    _, token = new_epn(now=NOW - timedelta(hours=73))
    status, answer = _enrol(hub_app.test_client(), enrolment_request(token, Ed25519PrivateKey.generate()))
    assert (status, answer["reason"]) == (401, "expired_token")


def test_an_unknown_token_is_refused(hub_client):  # type: ignore[no-untyped-def]
    new_epn()
    status, answer = _enrol(hub_client, enrolment_request("not-a-token", Ed25519PrivateKey.generate()))
    assert (status, answer["reason"]) == (401, "unknown_token")


def test_only_a_hash_of_the_token_is_stored(hub_app, hub_dir):  # type: ignore[no-untyped-def]
    _, token = new_epn()
    with database.connection_context():
        row = EnrolmentToken.get()
    assert token not in row.token_hash and len(row.token_hash) == 64
    for path in hub_dir.glob("hub.sqlite3*"):  # the database and its write-ahead log
        assert token.encode() not in path.read_bytes()


def test_enrolment_tokens_never_start_with_a_dash_and_stay_192_random_bits(hub_app):  # type: ignore[no-untyped-def]
    # A bare token_urlsafe starts with "-" one time in 64: `epn enrol URL -xyz` took it
    # for an option. 20,000 draws would show that hundreds of times.
    drawn = [enrolment_token() for _ in range(20_000)]
    assert not [token for token in drawn if token.startswith("-")]
    assert all(re.fullmatch(r"enrol_[A-Za-z0-9_-]{32}", token) for token in drawn)
    assert len(set(drawn)) == len(drawn)
    epn_id, first = new_epn()
    with database.connection_context():
        again = new_enrolment_token(epn_id, NOW, 72)
    assert first.startswith("enrol_") and again.startswith("enrol_")


def test_a_proof_of_possession_is_required(hub_client):  # type: ignore[no-untyped-def]
    _, token = new_epn()
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forged = {**enrolment_request(token, key), "proof": enrolment_request(token, other)["proof"]}
    status, answer = _enrol(hub_client, forged)
    assert (status, answer["reason"]) == (401, "bad_proof")
    # The failed attempt did not use the token up.
    assert _enrol(hub_client, enrolment_request(token, key))[0] == 200


@pytest.mark.parametrize("body", [
    {}, {"token": "t", "public_key": "AAAA", "proof": "x"}, {"token": 1, "public_key": "a", "proof": "b"},
    {"token": "t", "public_key": keys.b64(b"\0" * 31), "proof": "x"}, [], "text",
])
def test_a_malformed_enrolment_is_refused_with_400(hub_client, body):  # type: ignore[no-untyped-def]
    new_epn()
    status, answer = _enrol(hub_client, body)
    assert (status, answer["reason"]) == (400, "malformed")


def test_a_key_enrolled_for_one_epn_cannot_enrol_another(hub_client):  # type: ignore[no-untyped-def]
    appliance = enrol_appliance(hub_client)
    _, token = new_epn(name="EPN Ixelles", commune="21009", postal_code="1050")
    status, answer = _enrol(hub_client, enrolment_request(token, appliance.key))
    assert (status, answer["reason"]) == (409, "key_in_use")


def test_a_new_key_enrolled_for_an_epn_retires_its_old_key(hub_client):  # type: ignore[no-untyped-def]
    appliance = enrol_appliance(hub_client)
    with database.connection_context():
        token = new_enrolment_token(appliance.epn, NOW, 72)
    replacement = Ed25519PrivateKey.generate()
    assert _enrol(hub_client, enrolment_request(token, replacement))[0] == 200
    response = appliance.report("2026-W47", WEEK)
    assert (response.status_code, response.get_json()["reason"]) == (401, "revoked_key")


def test_a_revoked_key_cannot_be_enrolled_again(hub_client):  # type: ignore[no-untyped-def]
    appliance = enrol_appliance(hub_client)
    with database.connection_context():
        revoke_key(appliance.key_id, NOW)
        token = new_enrolment_token(appliance.epn, NOW, 72)
    status, answer = _enrol(hub_client, enrolment_request(token, appliance.key))
    assert (status, answer["reason"]) == (401, "revoked_key")


def _rotation(appliance: Appliance, new: Ed25519PrivateKey, **changes: str) -> tuple[bytes, dict[str, str]]:
    body = canonical_bytes({"epn": appliance.epn, "old_key_id": appliance.key_id,
                            "new_public_key": keys.b64(keys.public_bytes(new)),
                            "created_at": "2026-11-25T08:59:00Z", **changes})
    return body, {"EPN-Signature-Old": keys.sign(appliance.key, keys.ROTATE_CONTEXT, body),
                  "EPN-Signature-New": keys.sign(new, keys.ROTATE_CONTEXT, body)}


def test_rotation_signed_by_both_keys_replaces_the_key(appliance: Appliance):
    appliance.report("2026-W46", WEEK)
    new = Ed25519PrivateKey.generate()
    body, headers = _rotation(appliance, new)
    response = appliance.client.post("/api/v1/keys/rotate", data=body, headers=headers)
    new_id = keys.key_id(keys.public_bytes(new))
    assert response.status_code == 200
    assert response.get_json() == {"status": "rotated", "epn": appliance.epn, "key_id": new_id,
                                   "fingerprint": keys.fingerprint(keys.public_bytes(new)),
                                   "last_sequence": 1}
    old = appliance.report("2026-W47", WEEK)
    assert (old.status_code, old.get_json()["reason"]) == (401, "revoked_key")
    appliance.key, appliance.key_id = new, new_id
    assert appliance.report("2026-W47", WEEK).status_code == 201
    # A rotation retried after a lost answer gets the same answer, not a refusal.
    again = appliance.client.post("/api/v1/keys/rotate", data=body, headers=headers)
    assert (again.status_code, again.get_json()["status"]) == (200, "duplicate")


@pytest.mark.parametrize("broken,reason", [("old", "bad_signature"), ("new", "bad_signature")])
def test_rotation_needs_both_signatures(appliance: Appliance, broken: str, reason: str):
    body, headers = _rotation(appliance, Ed25519PrivateKey.generate())
    headers[f"EPN-Signature-{broken.capitalize()}"] = keys.sign(Ed25519PrivateKey.generate(),
                                                                 keys.ROTATE_CONTEXT, body)
    response = appliance.client.post("/api/v1/keys/rotate", data=body, headers=headers)
    assert (response.status_code, response.get_json()["reason"]) == (401, reason)
    with database.connection_context():
        assert Key.select().where(Key.revoked_at.is_null()).count() == 1
    assert appliance.report("2026-W47", WEEK).status_code == 201


def test_rotation_refusals(appliance: Appliance):
    client = appliance.client
    body, headers = _rotation(appliance, Ed25519PrivateKey.generate(), epn="epn-99")
    assert client.post("/api/v1/keys/rotate", data=body, headers=headers).get_json()["reason"] == "wrong_epn"
    body, headers = _rotation(appliance, Ed25519PrivateKey.generate(), created_at="2026-11-26T00:00:00Z")
    assert client.post("/api/v1/keys/rotate", data=body, headers=headers).get_json()["reason"] == "clock"
    body, headers = _rotation(appliance, Ed25519PrivateKey.generate(), old_key_id="0" * 16)
    assert client.post("/api/v1/keys/rotate", data=body, headers=headers).status_code == 401
    assert client.post("/api/v1/keys/rotate", data=b"{", headers=headers).status_code == 400
    body, headers = _rotation(appliance, appliance.key)  # the "new" key is the one enrolled
    assert client.post("/api/v1/keys/rotate", data=body, headers=headers).get_json()["reason"] == "key_in_use"


def test_rotation_naming_its_key_in_a_header_is_verified_before_parsing(appliance: Appliance):
    client = appliance.client
    garbage = b"{not json"
    forged = {"EPN-Key-Id": appliance.key_id, "EPN-Signature-Old": keys.sign(
        Ed25519PrivateKey.generate(), keys.ROTATE_CONTEXT, garbage), "EPN-Signature-New": "x"}
    response = client.post("/api/v1/keys/rotate", data=garbage, headers=forged)
    assert (response.status_code, response.get_json()["reason"]) == (401, "bad_signature")
    signed = {**forged, "EPN-Signature-Old": keys.sign(appliance.key, keys.ROTATE_CONTEXT, garbage)}
    response = client.post("/api/v1/keys/rotate", data=garbage, headers=signed)
    assert (response.status_code, response.get_json()["reason"]) == (400, "malformed")
    new = Ed25519PrivateKey.generate()
    body, headers = _rotation(appliance, new)
    response = client.post("/api/v1/keys/rotate", data=body, headers={**headers, "EPN-Key-Id": appliance.key_id})
    assert (response.status_code, response.get_json()["status"]) == (200, "rotated")
    # An interrupted rotation tried again with the same new key (a new body) is answered again.
    body, headers = _rotation(appliance, new, created_at="2026-11-25T09:00:00Z")
    response = client.post("/api/v1/keys/rotate", data=body, headers={**headers, "EPN-Key-Id": appliance.key_id})
    assert (response.status_code, response.get_json()["status"]) == (200, "duplicate")
