"""The help queue's pages: a visitor takes a number and follows it; the desk calls,
serves and marks absent; bad input gets a 4xx in the visitor's language, never a 500."""

from __future__ import annotations

import re

import pytest

from appliance.db import database
from appliance.models import QueueTicket, Visit
from tests.conftest import csrf_token

FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def visitor_token(client, path: str = "/queue/") -> str:  # type: ignore[no-untyped-def]
    """The CSRF token of the form on `path` (or of the sign-in page when it shows none)."""
    match = FORM_TOKEN.search(client.get(path, follow_redirects=True).get_data(as_text=True))
    return match.group(1) if match else csrf_token(client)


def take(client, kind: str = "forms", **headers):  # type: ignore[no-untyped-def]
    return client.post("/queue/", data={"csrf_token": visitor_token(client), "kind": kind}, headers=headers)


def tickets() -> list[QueueTicket]:
    with database.connection_context():
        return list(QueueTicket.select().order_by(QueueTicket.number))


def test_a_visitor_takes_a_number_and_sees_their_place(open_app, client):
    take(client, "job")
    response = take(client.application.test_client(), "forms")  # another phone
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in page
    assert re.search(r'class="number">2<', page)
    assert "1 person before you" in page or "1 personne" in page
    assert "epn_ticket=" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_the_ticket_cookie_brings_the_visitor_back_to_their_ticket(open_app, client):
    location = take(client).headers["Location"]
    again = client.get("/queue/")
    assert again.status_code == 302 and again.headers["Location"].endswith(location)


@pytest.mark.parametrize("lang, words", [("fr", "Votre numéro"), ("nl", "Uw nummer"), ("ar", "رقمك")])
def test_the_ticket_page_speaks_the_visitors_language(open_app, client, lang, words):
    location = take(client).headers["Location"]
    client.set_cookie("epn_lang", lang)
    page = client.get(location).get_data(as_text=True)
    assert words in page
    assert (f'lang="{lang}"' in page) and (('dir="rtl"' in page) == (lang == "ar"))


def test_the_visitor_cancels_their_own_number(open_app, client):
    location = take(client).headers["Location"]
    token = location.rsplit("/", 1)[1]
    response = client.post(f"/queue/t/{token}/cancel", data={"csrf_token": visitor_token(client, location)})
    assert response.status_code == 303
    assert tickets()[0].state == "cancelled"


def test_a_number_alone_or_a_wrong_token_finds_no_ticket(open_app, client):
    take(client)
    for path in ("/queue/t/1", "/queue/t/" + "A" * 16, "/queue/t/" + "A" * 200):
        assert client.get(path).status_code == 404
    other = client.application.test_client()
    response = other.post("/queue/t/" + "A" * 16 + "/cancel", data={"csrf_token": visitor_token(other)})
    assert response.status_code == 404
    assert tickets()[0].state == "waiting"


@pytest.mark.parametrize("lang, message", [("fr", "Choisissez"), ("nl", "Kies"), ("en", "Choose"), ("ar", "اختر")])
def test_an_unknown_kind_is_a_400_in_the_visitors_language(open_app, client, lang, message):
    client.set_cookie("epn_lang", lang)
    response = take(client, "<script>")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)
    assert tickets() == []


def test_a_form_without_its_csrf_token_is_refused(open_app, client):
    response = client.post("/queue/", data={"kind": "forms"})
    assert response.status_code == 400
    assert tickets() == []


def test_a_flood_from_one_phone_is_stopped_with_429(open_app, client):
    statuses = [take(client).status_code for _ in range(5)]
    assert statuses == [303, 303, 303, 429, 429]
    assert len(tickets()) == 3
    other = client.application.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert take(other).status_code == 303


def test_a_kiosk_is_not_limited_and_keeps_no_way_back(data_dir, hours):
    from appliance.web import create_app
    from tests.conftest import FIXED_NOW

    app = create_app({"DATA_DIR": data_dir, "TESTING": True,
                      "SETTINGS": {"queue": {"kiosk_networks": ["127.0.0.0/8"]}}})
    app.extensions["epn_clock"] = lambda: FIXED_NOW
    client = app.test_client()
    responses = [take(client) for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    assert "Set-Cookie" not in responses[-1].headers or "epn_ticket" not in responses[-1].headers["Set-Cookie"]
    assert 'content="30;url=/queue/"' in responses[-1].get_data(as_text=True)
    assert "/cancel" not in responses[-1].get_data(as_text=True)


def test_a_closed_queue_says_so(app, client):  # no opening hours: closed
    assert "fermée" in client.get("/queue/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    response = client.post("/queue/", data={"csrf_token": visitor_token(client), "kind": "forms"})
    assert response.status_code == 409
    assert tickets() == []


# --- The desk ---------------------------------------------------------------------------

def test_the_desk_calls_the_next_number_and_serves_it_as_a_visit(open_app, client, auth):
    take(open_app.test_client(), "job")
    token = auth("mediator")
    assert client.post("/staff/queue/next", data={"csrf_token": token}).status_code == 303
    page = client.get("/staff/queue/").get_data(as_text=True)
    assert "Number 1 called" in page or "Numéro 1" in page
    ticket = tickets()[0]
    response = client.post(f"/staff/queue/{ticket.id}/served",
                           data={"csrf_token": token, "purpose": "job_search", "attach_to": ""})
    assert response.status_code == 303
    with database.connection_context():
        assert Visit.get().source == "queue"
    assert tickets()[0].state == "served"


def test_the_desk_takes_a_number_marks_absent_and_puts_back(open_app, client, auth):
    token = auth("mediator")
    assert client.post("/staff/queue/take", data={"csrf_token": token, "kind": "eid"}).status_code == 303
    ticket = tickets()[0]
    assert ticket.origin == "desk"
    client.post("/staff/queue/next", data={"csrf_token": token})
    client.post(f"/staff/queue/{ticket.id}/absent", data={"csrf_token": token})
    assert tickets()[0].state == "absent"
    client.post(f"/staff/queue/{ticket.id}/back", data={"csrf_token": token})
    assert tickets()[0].state == "waiting"
    client.post(f"/staff/queue/{ticket.id}/recall", data={"csrf_token": token})
    assert tickets()[0].state == "called"


@pytest.mark.parametrize("path, data", [
    ("/staff/queue/1/served", {"purpose": "nope"}),
    ("/staff/queue/1/served", {"purpose": "job_search", "attach_to": "abc"}),
    ("/staff/queue/1/served", {"purpose": "job_search", "attach_to": "99999"}),
    ("/staff/queue/next", {"counter": "7"}),
    ("/staff/queue/take", {"kind": "nope"}),
])
def test_bad_desk_input_is_a_400_and_changes_nothing(open_app, client, auth, path, data):
    take(open_app.test_client())
    token = auth("mediator")
    client.post("/staff/queue/next", data={"csrf_token": token}) if "served" in path else None
    before = [(t.state, t.visit_id) for t in tickets()]
    response = client.post(path, data={"csrf_token": token, **data})
    assert response.status_code == 400
    assert "error-summary" in response.get_data(as_text=True)
    assert [(t.state, t.visit_id) for t in tickets()] == before
    with database.connection_context():
        assert Visit.select().count() == 0


@pytest.mark.parametrize("path", ["/staff/queue/999/served", "/staff/queue/1/explode"])
def test_unknown_tickets_and_actions_are_404(open_app, client, auth, path):
    token = auth("mediator")
    assert client.post(path, data={"csrf_token": token, "purpose": "job_search"}).status_code == 404


def test_the_desk_page_needs_a_sign_in(open_app, client):
    response = client.get("/staff/queue/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert csrf_token(client)  # the login page answers


GARBAGE = [{}, {"kind": "x" * 5000}, {"kind": ["forms", "job"]}, {"purpose": "\x00"},
           {"attach_to": "-1"}, {"attach_to": "1" * 30}, {"counter": "0"}, {"counter": "١"}]


@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_on_every_queue_route_is_never_a_500(open_app, client, auth, data):
    take(open_app.test_client())
    token = auth("mediator")
    client.post("/staff/queue/next", data={"csrf_token": token})
    ticket = tickets()[0]
    for path in ("/queue/", f"/queue/t/{ticket.token}/cancel", "/staff/queue/next", "/staff/queue/take",
                 f"/staff/queue/{ticket.id}/served", f"/staff/queue/{ticket.id}/absent",
                 f"/staff/queue/{ticket.id}/recall", f"/staff/queue/{ticket.id}/back"):
        for form in (data, {**data, "csrf_token": token}):
            response = client.post(path, data=form)
            assert response.status_code < 500, (path, form, response.status_code)
    for query in ("?lang=%00", "?cycle=1&lang=" + "a" * 3000, "?still=<x>"):
        assert client.get("/now" + query).status_code == 200
        assert client.get(f"/queue/t/{ticket.token}" + query).status_code == 200
