"""The figures API (JSON and CSV) behind a hub API token; the OpenAPI document lists every
/api/v1/ route; errors are JSON and never a 500; the request log carries route patterns."""

from __future__ import annotations

import csv
import io
import logging
import re

import pytest

from appliance.federation.hub.access import create_api_token
from appliance.federation.hub.db import HUB_LATEST, database
from appliance.federation.hub.models import ApiToken
from appliance.web.openapi import flask_rule_to_openapi
from tests.hub.conftest import WEEK, enrol_appliance

PUBLIC = {"hub_api.openapi", "hub_api.enrol", "hub_api.receive_report", "hub_api.rotate_key"}


@pytest.fixture
def token(hub_app) -> str:  # type: ignore[no-untyped-def]
    with database.connection_context():
        return create_api_token("observatory")


@pytest.fixture
def reported(hub_client):  # type: ignore[no-untyped-def]
    one = enrol_appliance(hub_client)
    two = enrol_appliance(hub_client, "EPN Ixelles", commune="21009", postal_code="1050")
    one.report("2026-W46", WEEK)
    one.report("2026-W47", WEEK)
    two.report("2026-W47", {**WEEK, "visits.total": 30})
    return one, two


def _get(client, url: str, token: str | None):  # type: ignore[no-untyped-def]
    return client.get(url, headers={"Authorization": f"Bearer {token}"} if token else {})


def test_figures_of_a_period_as_json(hub_client, reported, token):  # type: ignore[no-untyped-def]
    response = _get(hub_client, "/api/v1/figures?period=2026-W47", token)
    assert response.status_code == 200
    body = response.get_json()
    assert body["hub"] == "brussels" and body["period"] == "2026-W47" and body["reports"] == 2
    assert body["totals"]["visits.total"] == 100
    assert set(body["epns"]) == {reported[0].epn, reported[1].epn}
    assert body["weekdays"]["mon"]["mean"] == 10


def test_figures_of_a_range_as_json(hub_client, reported, token):  # type: ignore[no-untyped-def]
    body = _get(hub_client, "/api/v1/figures?from=2026-W46&to=2026-W48", token).get_json()
    assert [p["period"] for p in body["periods"]] == ["2026-W46", "2026-W47", "2026-W48"]
    assert [p["reports"] for p in body["periods"]] == [1, 2, 0]
    assert (body["from"], body["to"]) == ("2026-W46", "2026-W48")
    empty_period = _get(hub_client, "/api/v1/figures?period=&from=2026-W46&to=2026-W47", token).get_json()
    assert len(empty_period["periods"]) == 2


def test_figures_as_csv_one_value_a_row(hub_client, reported, token):  # type: ignore[no-untyped-def]
    response = _get(hub_client, "/api/v1/figures.csv?period=2026-W47", token)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="figures-2026-W47.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["period", "section", "scope", "key", "value"]
    index = {(r["section"], r["scope"], r["key"]): r["value"] for r in rows}
    assert index[("total", "", "visits.total")] == "100"
    assert index[("municipality", "21009", "visits.total")] == "30"
    assert index[("epn", reported[0].epn, "visits.weekday.mon")] == "10"
    assert index[("weekday", "mon", "sum")] == "20"
    assert index[("completeness", "", "expected")] == "0"


@pytest.mark.parametrize("query", ["", "period=2026-W99", "period=soon", "from=2026-W01",
                                   "from=2026-W01&to=2026-05", "from=2026-W10&to=2026-W01",
                                   "from=2000-W01&to=2030-W01", "period=9999-W52", "period=2026&from=2026"])
def test_a_bad_period_is_a_400_with_a_reason(hub_client, token, query):  # type: ignore[no-untyped-def]
    for path in ("/api/v1/figures", "/api/v1/figures.csv"):
        response = _get(hub_client, f"{path}?{query}", token)
        assert response.status_code == 400, (path, query)
        assert response.get_json()["reason"] == "period"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer hub_0000_forged", "Basic abc",
                                    "Bearer hub_a_b_c"])
def test_figures_need_a_live_hub_api_token(hub_client, header):  # type: ignore[no-untyped-def]
    for path in ("/api/v1/figures?period=2026-W47", "/api/v1/figures.csv?period=2026-W47"):
        response = hub_client.get(path, headers={"Authorization": header} if header else {})
        assert (response.status_code, response.get_json()["reason"]) == (401, "token")


def test_a_revoked_token_no_longer_works_and_tokens_are_stored_hashed(hub_client, token):  # type: ignore[no-untyped-def]
    assert _get(hub_client, "/api/v1/figures?period=2026-W47", token).status_code == 200
    with database.connection_context():
        row = ApiToken.get()
        assert token not in row.token_hash and row.last_used_at is not None
        ApiToken.update(revoked=True).execute()
    assert _get(hub_client, "/api/v1/figures?period=2026-W47", token).status_code == 401


def _api_routes(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_every_api_route_is_in_the_openapi_document_and_nothing_else(hub_app):  # type: ignore[no-untyped-def]
    document = hub_app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    routed = {(flask_rule_to_openapi(rule.rule), method.lower()) for rule, method in _api_routes(hub_app)}
    assert routed == documented
    assert {"/api/v1/enrol", "/api/v1/reports", "/api/v1/keys/rotate", "/api/v1/figures",
            "/api/v1/figures.csv"} <= set(document["paths"])
    assert "epn hub token add" in document["components"]["securitySchemes"]["bearerToken"]["description"]


def test_only_the_appliance_endpoints_and_the_document_are_public(hub_app):  # type: ignore[no-untyped-def]
    client = hub_app.test_client()
    document = client.get("/api/v1/openapi.json").get_json()
    for rule, method in _api_routes(hub_app):
        operation = document["paths"][flask_rule_to_openapi(rule.rule)][method.lower()]
        public = operation.get("security") == []
        assert public == (rule.endpoint in PUBLIC), rule.rule
        if not public:
            assert client.open(rule.rule, method=method).status_code == 401


@pytest.mark.parametrize("method,path", [("GET", "/api/v1/reports"), ("GET", "/api/v1/nowhere"),
                                          ("PUT", "/api/v1/enrol"), ("POST", "/healthz")])
def test_other_requests_get_json_errors(hub_client, method, path):  # type: ignore[no-untyped-def]
    response = hub_client.open(path, method=method)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"] == response.status_code


def test_healthz(hub_client):  # type: ignore[no-untyped-def]
    assert hub_client.get("/healthz").get_json() == {"status": "ok", "hub": "brussels", "schema": HUB_LATEST}


def test_the_request_log_has_route_patterns_not_queries(hub_client, token, caplog):  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.INFO, logger="appliance.federation.hub"):
        _get(hub_client, "/api/v1/figures?period=2026-W47", token)
        hub_client.get("/api/v1/figures.csv?period=2026-W47&secret=x", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    lines = [r.getMessage() for r in caplog.records if r.name == "appliance.federation.hub"]
    assert any(re.match(r"GET /api/v1/figures 200 ", line) for line in lines), lines
    assert any(re.match(r"GET /api/v1/figures.csv 401 ", line) for line in lines), lines
    assert not any("period=" in line or "10.9.8.7" in line or "secret" in line for line in lines)
