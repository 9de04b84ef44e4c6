"""The staff page /staff/reports: the link, the outbox and the hub's answers, a revoked
key in plain words, and "Push now" for coordinators (POST with CSRF)."""

import pytest

from appliance.federation import keys
from appliance.federation.push import push_outbox
from appliance.federation.report import build_report
from appliance.models import FederationLink, OutboxReport
from appliance.period import Period
from tests.conftest import sign_in
from tests.federation.conftest import NOW, SYNCED
from tests.federation.fakehub import FakeHub, Scripted


def queue(config, *periods):  # type: ignore[no-untyped-def]
    for period in periods:
        build_report(Period.parse(period), config, now=NOW, clock=SYNCED)


@pytest.fixture
def page(enrolled, client, auth):  # type: ignore[no-untyped-def]
    """(client, CSRF token) of a coordinator, on an appliance enrolled with the fake hub;
    the pages in English."""
    client.set_cookie("epn_lang", "en")
    return client, auth("coordinator")


def test_the_page_shows_the_link_the_key_and_each_report_with_the_hubs_answer(page, enrolled, hub: FakeHub):
    client, _ = page
    queue(enrolled, "2026-W39", "2026-W40", "2026-09")
    hub.script.append(Scripted(422, {"status": "refused", "reason": "schema: figure 'x'"}))
    push_outbox(enrolled, force=True)
    html = client.get("/staff/reports/").get_data(as_text=True)
    fingerprint = keys.fingerprint(keys.public_bytes(keys.ensure_key(enrolled.data_dir)))
    assert "fakehub" in html and "epn-7" in html and fingerprint in html
    assert "2026-W39" in html and "2026-09" in html
    assert "Refused by the hub" in html and "schema: figure" in html and "HTTP 422" in html
    assert "Sent" in html and "accepted" in html and "HTTP 201" in html
    assert "1 refused" in html and "2 sent" in html
    assert 'aria-current="page"' in html and 'href="/staff/reports/"' in html


def test_push_now_sends_the_waiting_reports(page, enrolled, hub: FakeHub):
    client, token = page
    queue(enrolled, "2026-W39", "2026-W40")
    response = client.post("/staff/reports/push", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/reports/")
    assert hub.accepted_sequences() == [1, 2]
    html = client.get("/staff/reports/").get_data(as_text=True)
    assert "Sent: 2. Refused: 0. Nothing is waiting." in html


def test_push_now_says_when_the_hub_cannot_be_reached(page, enrolled, hub: FakeHub):
    client, token = page
    queue(enrolled, "2026-W40")
    hub.stop()
    client.post("/staff/reports/push", data={"csrf_token": token})
    html = client.get("/staff/reports/").get_data(as_text=True)
    assert "Still waiting: 1" in html and "Waiting to be sent" in html and "cannot connect" in html


def test_push_now_needs_the_csrf_token(page, enrolled, hub: FakeHub):
    client, _ = page
    queue(enrolled, "2026-W40")
    assert client.post("/staff/reports/push", data={}).status_code == 400
    assert hub.accepted == []


def test_a_revoked_key_is_announced_in_plain_words_and_the_button_goes(page, enrolled, hub: FakeHub):
    client, token = page
    queue(enrolled, "2026-W40")
    hub.revoked.update(hub.keys)
    client.post("/staff/reports/push", data={"csrf_token": token})
    html = client.get("/staff/reports/").get_data(as_text=True)
    assert 'role="alert"' in html and "The hub no longer accepts reports from this appliance." in html
    assert f"epn enrol --new-key {hub.url} TOKEN" in html
    assert "Push now" not in html
    assert FederationLink.get().revoked_at is not None


def test_an_appliance_not_enrolled_says_how_to_enrol(config, client, auth):
    client.set_cookie("epn_lang", "en")
    auth("coordinator")
    html = client.get("/staff/reports/").get_data(as_text=True)
    assert "not enrolled with a hub" in html and "epn enrol HUB_URL TOKEN" in html
    assert "No report has been built yet." in html


def test_push_now_without_enrolment_explains_instead_of_failing(config, client, auth):
    client.set_cookie("epn_lang", "en")
    token = auth("coordinator")
    client.post("/staff/reports/push", data={"csrf_token": token})
    assert "not enrolled" in client.get("/staff/reports/").get_data(as_text=True)


@pytest.mark.parametrize("method, path", [("GET", "/staff/reports/"), ("POST", "/staff/reports/push")])
def test_the_page_and_the_button_are_for_coordinators_only(enrolled, app, client, auth, method, path):
    auth("mediator")
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.open(path, method=method).status_code == 403
    assert OutboxReport.select().count() == 0


@pytest.mark.parametrize("method, path", [("GET", "/staff/reports/"), ("POST", "/staff/reports/push")])
def test_signed_out_visitors_are_sent_to_the_login(app, client, method, path):
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.open(path, method=method)
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_the_menu_links_the_page_for_coordinators_only(app):
    mediator, coordinator = app.test_client(), app.test_client()
    sign_in(mediator, "mediator")
    sign_in(coordinator, "coordinator")
    assert "/staff/reports/" not in mediator.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/reports/"' in coordinator.get("/staff/").get_data(as_text=True)
