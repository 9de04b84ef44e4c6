"""The coordination's sign-in on the hub: pages need an account, wrong passwords and
lockout are explained, logout ends the session, forms carry CSRF tokens, FR/NL/EN."""

from __future__ import annotations

import re

import pytest

from appliance.federation.hub.accounts import HubAccount, create_account
from appliance.federation.hub.db import database

PASSWORD = "correct horse battery"


@pytest.fixture
def account(hub_app):  # type: ignore[no-untyped-def]
    with database.connection_context():
        return create_account("ines", PASSWORD, "coordinator", "Inès")


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)[0] \
        .split('value="')[1].rstrip('"')


def sign_in(client, login: str = "ines", password: str = PASSWORD, **headers):  # type: ignore[no-untyped-def]
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": login, "password": password, "csrf_token": csrf_of(page)},
                       headers=headers)


def test_the_dashboard_needs_a_signed_in_account(hub_client, account):  # type: ignore[no-untyped-def]
    response = hub_client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    signed = sign_in(hub_client)
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/dashboard")
    page = hub_client.get("/dashboard")
    assert page.status_code == 200 and "Inès" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_a_wrong_password_is_refused_in_the_readers_language_and_keeps_the_username(hub_client, account):  # type: ignore[no-untyped-def]
    hub_client.set_cookie("hub_lang", "nl")
    response = sign_in(hub_client, password="not the password")
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'lang="nl"' in page and 'value="ines"' in page
    assert "Wrong username or password." not in page  # translated
    assert hub_client.get("/dashboard").status_code == 302


def test_repeated_failures_lock_the_account(hub_client, account, hub_app):  # type: ignore[no-untyped-def]
    attempts = hub_app.extensions["epn_config"].hub.login_attempts
    for _ in range(attempts):
        sign_in(hub_client, password="wrong password!")
    response = sign_in(hub_client)  # the right password, but locked
    assert response.status_code == 401
    with database.connection_context():
        assert HubAccount.get(HubAccount.login == "ines").locked_until is not None


def test_logout_ends_every_session_of_the_account(hub_app, account):  # type: ignore[no-untyped-def]
    first, second = hub_app.test_client(), hub_app.test_client()
    sign_in(first), sign_in(second)
    assert second.get("/dashboard").status_code == 200
    page = first.get("/dashboard").get_data(as_text=True)
    assert first.post("/logout", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert second.get("/dashboard").status_code == 302


def test_a_form_without_its_csrf_token_is_refused_with_a_page(hub_client, account):  # type: ignore[no-untyped-def]
    response = hub_client.post("/login", data={"username": "ines", "password": PASSWORD})
    assert response.status_code == 400 and "text/html" in response.content_type
    assert hub_client.get("/dashboard").status_code == 302


def test_the_api_keeps_answering_json_without_csrf(hub_client):  # type: ignore[no-untyped-def]
    response = hub_client.post("/api/v1/reports", data=b"{}", content_type="application/json")
    assert 400 <= response.status_code < 500 and response.get_json()["status"] == "refused"
    assert hub_client.get("/nowhere").status_code == 404


def test_an_unknown_page_is_an_html_page_in_the_chosen_language(hub_client):  # type: ignore[no-untyped-def]
    choose = hub_client.get("/lang/fr?next=/nowhere")
    assert choose.status_code == 302 and choose.headers["Location"].endswith("/nowhere")
    response = hub_client.get("/nowhere")
    assert response.status_code == 404 and 'lang="fr"' in response.get_data(as_text=True)


@pytest.mark.parametrize("login, password, role", [("x", PASSWORD, "coordinator"), ("ok-name", "short", "coordinator"),
                                                   ("ok-name", PASSWORD, "emperor")])
def test_accounts_are_validated(hub_app, login, password, role):  # type: ignore[no-untyped-def]
    from appliance.errors import InvalidInput

    with database.connection_context():
        with pytest.raises(InvalidInput):
            create_account(login, password, role)
        assert HubAccount.select().count() == 0
