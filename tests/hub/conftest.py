"""Hub fixtures: a hub data directory and app with a fixed clock, and `Appliance`, a
stand-in for an enrolled appliance that builds, signs and pushes canonical reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.federation import keys
from appliance.federation.canonical import canonical_bytes
from appliance.federation.hub.app import create_hub_app
from appliance.federation.hub.db import database
from appliance.federation.hub.epns import add_epn
from appliance.federation.hub.models import EPN, IngestLog, Report

HUB_NAME = "brussels"
# Wednesday 25 November 2026: 2026-W47 (16-22 November) and October are closed.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CREATED = "2026-11-24T03:00:00Z"


def write_hub_config(directory: Path, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(f"hub:\n  name: {HUB_NAME}\n{extra}", encoding="utf-8")
    return directory


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    return write_hub_config(tmp_path / "hub")


def make_hub_app(settings: dict[str, Any], clock: datetime = NOW):  # type: ignore[no-untyped-def]
    app = create_hub_app(settings)
    app.extensions["hub_clock"] = lambda: clock
    return app


@pytest.fixture
def hub_app(hub_dir: Path):  # type: ignore[no-untyped-def]
    return make_hub_app({"DATA_DIR": hub_dir, "TESTING": True})


@pytest.fixture
def hub_client(hub_app):  # type: ignore[no-untyped-def]
    return hub_app.test_client()


def enrolment_request(token: str, key: Ed25519PrivateKey) -> dict[str, str]:
    public = keys.b64(keys.public_bytes(key))
    return {"token": token, "public_key": public,
            "proof": keys.sign(key, keys.ENROL_CONTEXT, f"{token}\n{public}".encode())}


def new_epn(name: str = "EPN Saint-Gilles", commune: str = "21013", postal_code: str = "1060",
            now: datetime = NOW) -> tuple[str, str]:
    """Add an EPN on the hub; return its id and enrolment token."""
    with database.connection_context():
        epn, token = add_epn(name, commune, postal_code, "non-profit", now, 72)
    return epn.id, token


@dataclass
class Appliance:
    """An enrolled appliance, as far as the hub can tell: an EPN id and a key."""

    client: Any
    epn: str
    key: Ed25519PrivateKey
    key_id: str
    sequence: int = 0
    sent: list[bytes] = field(default_factory=list)

    def envelope(self, period: str, figures: dict[str, Any], sequence: int | None = None,
                 **overrides: Any) -> dict[str, Any]:
        """A report as a dict; each call takes the next sequence unless given one.

        An override of None drops the field."""
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        report = {"protocol": "epn-report/1", "schema": 1, "hub": HUB_NAME, "epn": self.epn,
                  "key_id": self.key_id, "period": period, "sequence": sequence,
                  "report_id": str(uuid.uuid4()), "created_at": CREATED, "figures": figures}
        report.update(overrides)
        return {k: v for k, v in report.items() if v is not None}

    def body(self, period: str, figures: dict[str, Any], sequence: int | None = None,
             **overrides: Any) -> bytes:
        """Canonical report bytes."""
        return canonical_bytes(self.envelope(period, figures, sequence, **overrides))

    def headers(self, raw: bytes, key: Ed25519PrivateKey | None = None,
                key_id: str | None = None) -> dict[str, str]:
        return {"Content-Type": "application/json", "EPN-Key-Id": key_id or self.key_id,
                "EPN-Signature": keys.sign(key or self.key, keys.REPORT_CONTEXT, raw)}

    def push(self, raw: bytes, **headers: Any):  # type: ignore[no-untyped-def]
        return self.client.post("/api/v1/reports", data=raw, headers=self.headers(raw, **headers))

    def report(self, period: str, figures: dict[str, Any], **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.push(self.body(period, figures, **kwargs))


def enrol_appliance(client, name: str = "EPN Saint-Gilles", commune: str = "21013",  # type: ignore[no-untyped-def]
                    postal_code: str = "1060", now: datetime = NOW) -> Appliance:
    epn_id, token = new_epn(name, commune, postal_code, now)
    key = Ed25519PrivateKey.generate()
    response = client.post("/api/v1/enrol", json=enrolment_request(token, key))
    assert response.status_code == 200, response.get_json()
    return Appliance(client, epn_id, key, response.get_json()["key_id"])


@pytest.fixture
def appliance(hub_client) -> Appliance:  # type: ignore[no-untyped-def]
    return enrol_appliance(hub_client)


def stored() -> tuple[int, int, list[int]]:
    """What the hub holds: reports, ingest log entries, each EPN's last sequence."""
    with database.connection_context():
        return (Report.select().count(), IngestLog.select().count(),
                [epn.last_sequence for epn in EPN.select().order_by(EPN.id)])


WEEK = {"visits.total": 70, **{f"visits.weekday.{d}": n for d, n in
                               zip(("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                                   (10, 12, 14, 16, 18, 0, 0), strict=True)}}
