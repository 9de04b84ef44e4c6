"""The help queue in the JSON API: list, take, call next, served, absent; token only."""

from __future__ import annotations

import pytest

from appliance.accounts import create_token
from appliance.db import database
from appliance.desk.visits import log_visit
from appliance.models import QueueTicket, Visit
from tests.conftest import FIXED_NOW


@pytest.fixture
def api(open_app):  # type: ignore[no-untyped-def]
    with database.connection_context():
        token = create_token("desk-tablet")
    client = open_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
        return client.open("/api/v1/queue" + path, method=method, headers=headers, **kwargs)

    return call


def test_take_call_serve_and_list_through_the_api(api):
    taken = api("POST", "/tickets", json={"kind": "job"})
    assert taken.status_code == 201
    body = taken.get_json()
    assert (body["number"], body["purpose"], body["state"], body["origin"]) == (1, "job_search", "waiting", "api")
    assert "token" not in body  # the visitor's key never leaves through the API
    called = api("POST", "/next", json={"counter": 1})
    assert (called.status_code, called.get_json()["id"]) == (200, body["id"])
    served = api("POST", f"/tickets/{body['id']}/served", json={})
    assert served.status_code == 200 and served.get_json()["visit_id"]
    listed = api("GET", "/tickets").get_json()
    assert listed["day"] == FIXED_NOW.date().isoformat()
    assert [t["state"] for t in listed["tickets"]] == ["served"]
    assert api("POST", "/next").status_code == 204


def test_served_can_attach_to_todays_visit_and_absent_closes(api):
    with database.connection_context():
        earlier = log_visit("learning_ict", [], FIXED_NOW)
    first = api("POST", "/tickets", json={"kind": "forms"}).get_json()
    second = api("POST", "/tickets", json={"kind": "forms"}).get_json()
    served = api("POST", f"/tickets/{first['id']}/served", json={"attach_to": earlier.id})
    assert served.get_json()["visit_id"] == earlier.id
    assert api("POST", f"/tickets/{second['id']}/absent").get_json()["state"] == "absent"
    with database.connection_context():
        assert Visit.select().count() == 1


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/tickets", {"kind": "nope"}),
    ("POST", "/tickets", {"kind": "job", "name": "Ann"}),
    ("POST", "/tickets", ["job"]),
    ("POST", "/next", {"counter": "one"}),
    ("POST", "/next", {"counter": 5}),
    ("POST", "/tickets/1/served", {"purpose": "nope"}),
    ("POST", "/tickets/1/served", {"attach_to": "x"}),
    ("POST", "/tickets/1/served", {"attach_to": 999}),
    ("GET", "/tickets?day=yesterday", None),
])
def test_bad_api_input_is_a_400_in_json_and_changes_nothing(api, method, path, body):
    api("POST", "/tickets", json={"kind": "forms"})
    response = api(method, path, json=body) if body is not None else api(method, path)
    assert response.status_code == 400
    assert response.get_json()["error"] == 400
    with database.connection_context():
        assert [(t.state, t.visit_id) for t in QueueTicket.select()] == [("waiting", None)]


def test_unknown_tickets_are_404(api):
    assert api("POST", "/tickets/42/served", json={}).status_code == 404
    assert api("POST", "/tickets/42/absent").status_code == 404


def test_the_queue_api_is_in_the_openapi_document(open_app):
    paths = open_app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/queue/tickets", "/api/v1/queue/next", "/api/v1/queue/tickets/{ticket_id}/served",
            "/api/v1/queue/tickets/{ticket_id}/absent"} <= set(paths)
    assert "/api/v1/visits" in paths  # one document for the whole API
