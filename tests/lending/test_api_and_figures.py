"""The laptop-thèque in the JSON API and in the report figures (counts only)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from appliance.accounts import create_token
from appliance.config import LendingConfig
from appliance.db import database
from appliance.federation.schema import CURRENT_SCHEMA, SCHEMAS
from appliance.lending import figure_keys, figures, loans, maintenance
from appliance.models import Device
from appliance.period import Period
from appliance.registry import collect_figures
from tests.lending.conftest import NOW, add_inventory, borrower


@pytest.fixture
def api(app):  # type: ignore[no-untyped-def]
    with database.connection_context():
        add_inventory()
        member = borrower()
        secret = create_token("desk-tablet")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    return client, headers, member


def test_a_device_is_lent_and_taken_back_through_the_api(api):
    client, headers, member = api
    devices = client.get("/api/v1/devices?kind=laptop", headers=headers).get_json()["devices"]
    assert [d["tag"] for d in devices] == ["LT-001", "LT-002"]
    created = client.post(
        "/api/v1/loans",
        headers=headers,
        json={"tag": "lt-001", "member_number": member.number, "accept_terms": True},
    )
    assert created.status_code == 201, created.get_json()
    loan = created.get_json()
    assert loan["due_at"] == "2026-12-01T23:59" and loan["member_number"] == member.number
    assert "Diallo" not in created.get_data(as_text=True)
    again = client.post(
        "/api/v1/loans",
        headers=headers,
        json={"tag": "LT-001", "member_number": member.number, "accept_terms": True},
    )
    assert again.status_code == 409
    shown = client.get("/api/v1/devices/LT-001", headers=headers).get_json()
    assert shown["status"] == "on_loan" and shown["loan"]["id"] == loan["id"]
    back = client.post(
        f"/api/v1/loans/{loan['id']}/return",
        headers=headers,
        json={"accessories_back": ["charger", "sleeve"], "condition": "good"},
    )
    assert back.status_code == 200 and back.get_json()["reset_recorded"] is False
    assert (
        client.post(
            f"/api/v1/loans/{loan['id']}/return", headers=headers, json={"condition": "good"}
        ).status_code
        == 409
    )
    half = client.post(
        "/api/v1/devices/LT-001/reset", headers=headers, json={"wiped": True, "signed_out": False}
    )
    assert half.status_code == 400
    reset = client.post(
        "/api/v1/devices/LT-001/reset", headers=headers, json={"wiped": True, "signed_out": True}
    )
    assert reset.status_code == 200 and reset.get_json()["status"] == "available"


@pytest.mark.parametrize(
    "body, status",
    [
        ({"tag": "NOPE-1", "member_number": None, "accept_terms": True}, 400),
        ({"tag": "LT-001", "member_number": "000000000"}, 400),
        ({"tag": "LT-001", "member_number": None}, 400),  # terms not accepted
        (
            {"tag": "LT-001", "member_number": None, "accept_terms": True, "due_day": "2026-01-01"},
            400,
        ),
        ({"tag": "LT-001", "member_number": None, "accept_terms": "yes"}, 400),
        ({"tag": "LT-001", "member_number": None, "extra": 1}, 400),
    ],
)
def test_bad_api_input_is_a_400_and_lends_nothing(api, body, status):
    client, headers, member = api
    body = {**body, "member_number": body["member_number"] or member.number}
    response = client.post("/api/v1/loans", headers=headers, json=body)
    assert response.status_code == status and response.get_json()["message"]
    with database.connection_context():
        assert Device.select().where(Device.status == "on_loan").count() == 0


def test_the_tag_path_parameter_is_documented_as_text(api):
    client, _, _ = api
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = document["paths"]["/api/v1/devices/{tag}"]["get"]["parameters"]
    assert parameters[0]["schema"] == {"type": "string"}


def test_the_figures_count_loans_loan_days_overdue_lost_and_devices(lending):
    config = LendingConfig()
    Device.update(created_at=datetime(2026, 10, 1)).execute()  # in the inventory since October
    loans.check_out(
        "LT-001", lending["member"], "home", None, NOW, accept_terms=True, config=config
    )
    loans.check_in(
        "LT-001",
        None,
        NOW + timedelta(days=2),
        ["charger", "sleeve"],
        "good",
        wiped=True,
        signed_out=True,
    )
    late = loans.check_out(
        "TB-001",
        borrower("Jan"),
        "home",
        None,
        NOW,
        accept_terms=True,
        due_day=NOW.date() + timedelta(days=1),
        config=config,
    )
    loans.check_out(
        "BR-001", borrower("Ahmed"), "onsite", None, NOW, accept_terms=True, config=config
    )
    loans.check_in(
        "BR-001", None, NOW + timedelta(hours=2), ["cable"], "good", wiped=True, signed_out=True
    )
    maintenance.add_record("LT-002", "battery", "", True, None, NOW)
    loans.declare_lost(late.id, None, datetime(2026, 11, 21, 12, 0))
    week = figures(Period.parse("2026-W47"), now=datetime(2026, 11, 23, 9, 0))  # 16-22 November
    assert week["loans.checkouts"] == 3 and week["loans.onsite"] == 1 and week["loans.group"] == 0
    # LT-001 out 17-19 (3 days), BR-001 on the 17th (1), TB-001 17-21 until declared lost (5).
    assert week["loans.days"] == 9
    assert week["loans.overdue"] == 1 and week["loans.lost"] == 1
    assert week["devices.kind.laptop"] == 2 and week["devices.kind.tablet"] == 1
    assert (
        week["devices.status.available"],
        week["devices.status.maintenance"],
        week["devices.status.lost"],
    ) == (2, 1, 1)
    assert week["devices.days"] == 4 * 7
    assert set(week) == figure_keys() <= SCHEMAS[CURRENT_SCHEMA]
    assert all(isinstance(v, int) for v in week.values())


def test_lending_figures_join_the_report_and_stay_within_the_schema(lending):
    merged = collect_figures(Period.parse("2026-11"))
    assert {"loans.checkouts", "loans.days", "loans.overdue", "loans.lost"} <= set(merged)
    assert {k for k in merged if k.startswith(("loans.", "devices."))} <= SCHEMAS[CURRENT_SCHEMA]


def test_an_epn_without_devices_reports_no_lending_figure_at_all(db):
    assert figures(Period.parse("2026-W47"), now=NOW) == {}
    assert not any(
        k.startswith(("loans.", "devices.")) for k in collect_figures(Period.parse("2026-W47"))
    )
