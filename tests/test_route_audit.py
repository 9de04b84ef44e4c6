"""Walks the app's URL map: no staff page without sign-in, no API route without a token,
no role escalation, and no /api/v1/ route missing from the OpenAPI document."""

import re

import pytest

from appliance.web.openapi import flask_rule_to_openapi
from tests.conftest import sign_in

PUBLIC_STAFF = {"auth.login"}
PUBLIC_API = {"api.openapi"}
COORDINATOR_ONLY = {
    "desk.import_visits", "schedule.hours", "schedule.new_shift", "schedule.remove_shift",
    "schedule.new_closure", "schedule.remove_closure",
    "survey_staff.open_survey", "survey_staff.close_survey", "survey_staff.remove_period",
    "reports.index", "reports.push_now",
    "printing_staff.add_printer",
    "booking_staff.new_seat", "booking_staff.change_seat",
    "lending.new_device", "lending.edit_device", "lending.retire", "lending.import_devices", "lending.terms",
}


def _url(rule) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)


def _routes(app, prefix):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_the_audit_sees_the_staff_and_api_routes(app):
    staff = {rule.endpoint for rule, _ in _routes(app, "/staff")}
    assert {"desk.home", "desk.log", "members.erase", "schedule.hours"} <= staff
    assert len(list(_routes(app, "/api/v1/"))) >= 5


def test_no_staff_route_is_reachable_without_signing_in(app):
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False  # so a POST reaches the login check itself
    for rule, method in _routes(app, "/staff"):
        if rule.endpoint in PUBLIC_STAFF:
            continue
        response = client.open(_url(rule), method=method)
        assert response.status_code == 302, f"{method} {rule.rule} answered {response.status_code}"
        assert response.headers["Location"].startswith("/staff/login"), rule.rule


def test_no_api_route_answers_without_a_valid_token(app):
    client = app.test_client()
    for rule, method in _routes(app, "/api/"):
        if rule.endpoint in PUBLIC_API:
            continue
        for headers in ({}, {"Authorization": "Bearer epn_0000_forged"}, {"Authorization": "Basic abc"}):
            response = client.open(_url(rule), method=method, headers=headers)
            assert response.status_code == 401, f"{method} {rule.rule} answered {response.status_code}"


def test_a_mediator_gets_403_on_every_coordinator_route(app):
    client = app.test_client()
    sign_in(client, "mediator")
    app.config["WTF_CSRF_ENABLED"] = False
    seen = set()
    for rule, method in _routes(app, "/staff"):
        if rule.endpoint in COORDINATOR_ONLY:
            seen.add(rule.endpoint)
            assert client.open(_url(rule), method=method).status_code == 403, rule.rule
    assert seen == COORDINATOR_ONLY


def test_every_api_route_is_in_the_openapi_document_and_nothing_else(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    routed = {(flask_rule_to_openapi(rule.rule), method.lower()) for rule, method in _routes(app, "/api/v1/")}
    assert routed == documented


def test_the_openapi_document_is_valid_openapi_3_with_security(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], f"{method} {path} has no responses"
            for name in re.findall(r"\{(\w+)\}", path):
                assert any(p["name"] == name and p["in"] == "path" for p in operation["parameters"])


@pytest.mark.parametrize("path", ["/staff/", "/staff/members/", "/api/v1/today"])
def test_staff_and_api_answers_are_never_cached(client, auth, path):
    auth("mediator")
    assert client.get(path).headers["Cache-Control"] == "no-store"
