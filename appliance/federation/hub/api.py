"""The hub's HTTP API under /api/v1/ (documented at /api/v1/openapi.json).

Appliances call enrol, reports and keys/rotate, authenticated by their signatures; the
figures endpoints need a hub API token (`epn hub token add --name NAME`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from appliance.config import Config
from appliance.federation.canonical import CanonicalError, parse_strict
from appliance.federation.hub.errors import Refused
from appliance.web.openapi import ApiSpec

bp = Blueprint("hub_api", __name__, url_prefix="/api/v1")
spec = ApiSpec(bp, "EPN hub API")
# Enrolment and rotation bodies are a few hundred bytes.
SMALL_BODY = 4096
_ID = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}
spec.schemas.update({
    "Enrolment": {
        "type": "object", "required": ["token", "public_key", "proof"], "additionalProperties": False,
        "properties": {"token": {"type": "string"}, "public_key": {"type": "string", "contentEncoding": "base64"},
                       "proof": {"type": "string", "contentEncoding": "base64"}},
    },
    "Report": {
        "type": "object", "additionalProperties": False, "description": "Canonical JSON (RFC 8785), see docs/protocol.md.",
        "required": ["protocol", "schema", "hub", "epn", "key_id", "period", "sequence", "report_id",
                     "created_at", "figures"],
        "properties": {
            "protocol": {"const": "epn-report/1"}, "schema": {"type": "integer"}, "hub": _ID, "epn": _ID,
            "key_id": _ID, "period": {"type": "string", "examples": ["2026-W47", "2026-11", "2026"]},
            "sequence": {"type": "integer", "minimum": 1}, "report_id": _ID,
            "created_at": {"type": "string", "examples": ["2026-11-24T03:12:00Z"]},
            "figures": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        },
    },
    "Rotation": {
        "type": "object", "required": ["epn", "old_key_id", "new_public_key", "created_at"],
        "additionalProperties": False,
        "properties": {"epn": _ID, "old_key_id": _ID, "new_public_key": {"type": "string"},
                       "created_at": {"type": "string"}},
    },
})


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "description": description,
            "schema": {"type": "string"}}


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", "examples": ["2026-W47", "2026-11", "2026"]}}


REPORT_HEADERS = [_header("EPN-Key-Id", "Id of the signing key."),
                  _header("EPN-Signature", "Ed25519 signature of the body under epn-report/1, base64.")]
ROTATION_HEADERS = [{**_header("EPN-Key-Id", "Id of the old key (optional: then verified before parsing)."),
                     "required": False},
                    _header("EPN-Signature-Old", "Signature of the body by the old key (epn-rotate/1)."),
                    _header("EPN-Signature-New", "Signature of the body by the new key (epn-rotate/1).")]
PERIOD_PARAMS = [_query("period", "One period."), _query("from", "First period of a range."),
                 _query("to", "Last period of a range (same kind as from).")]


def settings() -> Config:
    return current_app.extensions["epn_config"]


def now() -> datetime:
    return current_app.extensions["hub_clock"]()


def read_body(limit: int) -> bytes:
    """The request body, at most `limit` bytes: a larger one is refused before it is read.

    Without Content-Length (chunked), at most one byte past the limit is read. A read may
    return less than asked, so it loops until the end of the body.
    """
    length = request.content_length
    if length is not None and length > limit:
        raise Refused(413, "too_large", f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = request.stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise Refused(413, "too_large", f"the body is over {limit} bytes")
    return b"".join(chunks)


def token_required(view: Callable) -> Callable:
    """Answer 401 unless the request carries a live hub API token (Bearer)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from appliance.federation.hub.access import check_api_token

        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        g.api_token = check_api_token(token, now()) if token else None
        if g.api_token is None:
            raise Refused(401, "token", "a valid hub API token is required (Authorization: Bearer ...)")
        return view(*args, **kwargs)

    return wrapped


def healthz():  # type: ignore[no-untyped-def]
    from appliance.federation.hub.db import HUB_LATEST, current_version, database

    version = current_version(database.obj)
    ok = version == HUB_LATEST
    return {"status": "ok" if ok else "schema-mismatch", "hub": settings().hub.name, "schema": version}, (
        200 if ok else 503)


@spec.route("/openapi.json", "GET", "This document.", {200: "The OpenAPI document."}, public=True)
def openapi():  # type: ignore[no-untyped-def]
    document = spec.document()
    document["components"]["securitySchemes"]["bearerToken"]["description"] = (
        "A hub API token made with `epn hub token add --name NAME`.")
    return jsonify(document)


@spec.route("/enrol", "POST", "Enrol an appliance's public key with a one-time token.",
            {200: "Enrolled: the hub's name, the EPN's id, key id, fingerprint, last sequence.",
             400: "Malformed.", 401: "Unknown, used or expired token, or a proof that does not verify.",
             409: "The key is enrolled for another EPN.", 413: "Too large."},
            body="Enrolment", public=True)
def enrol():  # type: ignore[no-untyped-def]
    from appliance.federation.hub.epns import enrol as enrol_key

    try:
        body = parse_strict(read_body(SMALL_BODY))
    except CanonicalError as error:
        raise Refused(400, "malformed", str(error)) from None
    return enrol_key(body, settings().hub.name, now())


@spec.route("/reports", "POST", "Deliver one signed report (docs/protocol.md).",
            {200: "Duplicate: the same report again.", 201: "Accepted, or a correction.",
             400: "Malformed.", 401: "Unknown or revoked key, or a bad signature.",
             409: "Conflict or stale sequence.", 413: "Over hub.max_report_kb.",
             422: "Outside the schema, for another hub or EPN, or clock."},
            REPORT_HEADERS, body="Report", public=True)
def receive_report():  # type: ignore[no-untyped-def]
    from appliance.federation.hub.ingest import HubRules, ingest_report

    hub = settings().hub
    raw = read_body(hub.max_report_kb * 1024)
    receipt = ingest_report(raw, request.headers.get("EPN-Key-Id", ""), request.headers.get("EPN-Signature", ""),
                            HubRules(hub.name, settings().tz), now())
    return receipt.answer(), receipt.http_status


@spec.route("/keys/rotate", "POST", "Replace an EPN's key; signed by the old and the new key.",
            {200: "Rotated (or the same rotation again).", 400: "Malformed.",
             401: "Unknown or revoked old key, or a signature that does not verify.",
             409: "The new key is already enrolled.", 413: "Too large.", 422: "Wrong EPN or clock."},
            ROTATION_HEADERS, body="Rotation", public=True)
def rotate_key():  # type: ignore[no-untyped-def]
    from appliance.federation.hub.epns import rotate_key as rotate

    headers = request.headers
    return rotate(read_body(SMALL_BODY), headers.get("EPN-Signature-Old", ""),
                  headers.get("EPN-Signature-New", ""), now(), headers.get("EPN-Key-Id", ""))


def _merged() -> tuple[list[dict[str, Any]], bool]:
    from appliance.federation.hub.export import parse_periods
    from appliance.federation.hub.merge import merge_range

    args = request.args
    try:
        periods = parse_periods(args.get("period"), args.get("from"), args.get("to"))
    except ValueError as error:
        raise Refused(400, "period", str(error)) from None
    return merge_range(periods, settings().tz, settings().hub.on_time_days), bool(args.get("period"))


@spec.route("/figures", "GET", "Federation-wide figures of a period, or of each period of a range.",
            {200: "The merged figures.", 400: "Bad period.", 401: "No valid token."}, PERIOD_PARAMS)
@token_required
def figures():  # type: ignore[no-untyped-def]
    from appliance.federation.hub.export import figures_document

    merged, single = _merged()
    return jsonify(figures_document(settings().hub.name, merged, single))


@spec.route("/figures.csv", "GET", "The same figures as CSV: period,section,scope,key,value.",
            {200: "CSV.", 400: "Bad period.", 401: "No valid token."}, PERIOD_PARAMS)
@token_required
def figures_csv():  # type: ignore[no-untyped-def]
    from appliance.federation.hub.export import to_csv

    merged, _ = _merged()
    name = merged[0]["period"] if len(merged) == 1 else f"{merged[0]['period']}_{merged[-1]['period']}"
    return Response(to_csv(merged), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="figures-{name}.csv"'})


# The CSV export is not JSON: say so in the document.
spec.paths["/api/v1/figures.csv"]["get"]["responses"]["200"]["content"] = {
    "text/csv": {"schema": {"type": "string"}}}
