"""Staff sign-in: roles, sessions, lockout, CSRF, cookie flags."""

import re

import pytest

from appliance.db import database
from appliance.models import StaffUser, Visit
from appliance.web import create_app
from tests.conftest import CAST, csrf_token, sign_in


def test_a_mediator_signs_in_and_lands_on_the_desk(client):
    sign_in(client, "mediator")
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "Mehdi" in page.get_data(as_text=True)


def test_a_wrong_password_is_refused_with_a_message_and_the_username_kept(client):
    token = csrf_token(client)
    response = client.post("/staff/login", data={"csrf_token": token, "username": "mehdi", "password": "nope-nope-nope"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 401
    text = response.get_data(as_text=True)
    assert "Wrong username or password." in text
    assert 'value="mehdi"' in text
    assert client.get("/staff/").status_code == 302


def test_repeated_failures_lock_the_account_even_for_the_right_password(client):
    token = csrf_token(client)
    for _ in range(5):
        client.post("/staff/login", data={"csrf_token": token, "username": "mehdi", "password": "wrong-password"})
    response = client.post("/staff/login", data={"csrf_token": token, "username": "mehdi",
                                                 "password": CAST["mediator"][1]},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert "locked" in response.get_data(as_text=True)


def test_logout_ends_the_session_and_an_old_cookie_no_longer_works(app):
    first, second = app.test_client(), app.test_client()
    token = sign_in(first)
    sign_in(second)
    assert first.post("/staff/logout", data={"csrf_token": token}).status_code == 302
    assert first.get("/staff/").status_code == 302
    # Every session of that account ends with the logout, including a copied cookie.
    assert second.get("/staff/").status_code == 302


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(client, auth):
    auth("mediator")
    response = client.post("/staff/visits", data={"purpose": "job_search"})
    assert response.status_code == 400
    with database.connection_context():
        assert Visit.select().count() == 0


def test_a_csrf_token_of_another_session_is_refused(app):
    victim, attacker = app.test_client(), app.test_client()
    sign_in(victim)
    stolen = sign_in(attacker)
    assert victim.post("/staff/visits", data={"csrf_token": stolen, "purpose": "job_search"}).status_code == 400


def test_session_cookies_are_httponly_and_samesite(client):
    sign_in(client)
    cookie = client.get_cookie("epn_session")
    assert cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure


def test_session_cookies_are_secure_when_tls_is_on(data_dir):
    app = create_app({"DATA_DIR": data_dir, "TESTING": True, "SETTINGS": {"server": {"tls": True}}})
    client = app.test_client()
    page = client.get("/staff/login", base_url="https://localhost")
    assert "Secure" in page.headers["Set-Cookie"]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    username, password = CAST["mediator"]
    response = client.post("/staff/login", data={"csrf_token": token, "username": username, "password": password},
                           base_url="https://localhost", headers={"Referer": "https://localhost/staff/login"})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert client.get("/staff/", base_url="https://localhost").status_code == 200


def test_a_disabled_account_cannot_sign_in(client):
    with database.connection_context():
        StaffUser.update(active=False).where(StaffUser.username == "mehdi").execute()
    token = csrf_token(client)
    response = client.post("/staff/login", data={"csrf_token": token, "username": "mehdi",
                                                 "password": CAST["mediator"][1]})
    assert response.status_code == 401


@pytest.mark.parametrize("target, expected", [
    ("/staff/members/", "/staff/members/"),
    ("//evil.example/", "/staff/"),
    ("https://evil.example/", "/staff/"),
])
def test_after_sign_in_the_user_returns_only_to_a_page_of_this_site(client, target, expected):
    token = csrf_token(client)
    username, password = CAST["mediator"]
    response = client.post(f"/staff/login?next={target}",
                           data={"csrf_token": token, "username": username, "password": password})
    assert response.headers["Location"] == expected


def test_staff_pages_refuse_other_networks_when_staff_networks_are_set(data_dir):
    app = create_app({"DATA_DIR": data_dir, "TESTING": True,
                      "SETTINGS": {"staff": {"allowed_networks": ["192.168.10.0/24"]}}})
    client = app.test_client()
    assert client.get("/staff/login", environ_base={"REMOTE_ADDR": "10.77.1.20"}).status_code == 404
    assert client.get("/staff/login", environ_base={"REMOTE_ADDR": "192.168.10.5"}).status_code == 200
    assert client.get("/api/v1/today", environ_base={"REMOTE_ADDR": "10.77.1.20"}).status_code == 404
    # The visitor side stays reachable from the visitors' network.
    assert client.get("/", environ_base={"REMOTE_ADDR": "10.77.1.20"}).status_code == 200
