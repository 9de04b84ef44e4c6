"""The JSON API under /api/v1/, authenticated by tokens from `epn token add`."""

from datetime import date

import pytest

from appliance.accounts import create_token
from appliance.db import database
from appliance.models import ApiToken, Visit


@pytest.fixture
def token(data_dir):
    with database.connection_context():
        return create_token("kiosk")


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_logs_a_visit_and_lists_it(client, token):
    created = client.post("/api/v1/visits", json={"purpose": "job_search", "services": ["wifi"]},
                          headers=_bearer(token))
    assert created.status_code == 201
    assert created.get_json()["services"] == ["wifi"]
    listed = client.get("/api/v1/visits?day=2026-11-17", headers=_bearer(token)).get_json()
    assert [v["purpose"] for v in listed["visits"]] == ["job_search"]


def test_a_visit_is_deleted_through_the_api(client, token):
    visit_id = client.post("/api/v1/visits", json={"purpose": "job_search"}, headers=_bearer(token)).get_json()["id"]
    assert client.delete(f"/api/v1/visits/{visit_id}", headers=_bearer(token)).status_code == 204
    assert client.delete(f"/api/v1/visits/{visit_id}", headers=_bearer(token)).status_code == 404


@pytest.mark.parametrize("body", [
    {"purpose": "dancing"}, {"purpose": "job_search", "services": "wifi"},
    {"purpose": "job_search", "services": [1]}, {"purpose": "job_search", "member": "x"}, [1, 2], "text",
])
def test_bad_json_gets_a_400_with_a_message_and_stores_nothing(client, token, body):
    response = client.post("/api/v1/visits", json=body, headers=_bearer(token))
    assert response.status_code == 400
    assert response.get_json()["message"]
    with database.connection_context():
        assert Visit.select().count() == 0


def test_api_error_messages_follow_the_accept_language(client, token):
    response = client.post("/api/v1/visits", json={"purpose": "dancing"},
                           headers={**_bearer(token), "Accept-Language": "nl"})
    english = client.post("/api/v1/visits", json={"purpose": "dancing"},
                          headers={**_bearer(token), "Accept-Language": "en"})
    assert response.get_json()["message"] != english.get_json()["message"]


def test_figures_of_a_period_are_counts_only(client, token):
    with database.connection_context():
        Visit.create(day=date(2026, 11, 17), hour=10, purpose="job_search", source="walk_in")
    body = client.get("/api/v1/figures?period=2026-W47", headers=_bearer(token)).get_json()
    assert body["period"] == "2026-W47"
    assert body["figures"]["visits.total"] == 1
    assert all(isinstance(value, int) for value in body["figures"].values())
    assert client.get("/api/v1/figures?period=2026-W99", headers=_bearer(token)).status_code == 400


def test_today_tells_visits_and_opening(client, token):
    body = client.get("/api/v1/today", headers=_bearer(token)).get_json()
    assert body["visits"] == 0 and body["open_now"] is False


def test_a_revoked_token_is_refused(client, token):
    with database.connection_context():
        ApiToken.update(revoked=True).execute()
    assert client.get("/api/v1/today", headers=_bearer(token)).status_code == 401


def test_only_a_hash_of_the_token_is_stored(data_dir, token):
    with database.connection_context():
        row = ApiToken.get()
    assert token not in (row.token_hash, row.prefix)
    assert token.startswith(f"epn_{row.prefix}_")
