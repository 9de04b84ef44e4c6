"""Serving the hub: behind nginx (hub.behind_proxy) the forwarded scheme and host are
trusted, one hop; otherwise never. Request bodies are limited on pages too."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.federation.hub.accounts import create_account
from appliance.federation.hub.db import database
from tests.hub.conftest import make_hub_app, write_hub_config

PASSWORD = "correct horse battery"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hub.example.org", "X-Forwarded-For": "192.0.2.7"}


def _app(tmp_path: Path, hub_database: str, behind_proxy: bool):  # type: ignore[no-untyped-def]
    extra = f"  tls: true\n  behind_proxy: {str(behind_proxy).lower()}\n"
    app = make_hub_app({"DATA_DIR": write_hub_config(tmp_path / "hub", hub_database + extra), "TESTING": True})
    with database.connection_context():
        create_account("ines", PASSWORD)
    return app


def _sign_in(client, referrer: str, **kwargs):  # type: ignore[no-untyped-def]
    page = client.get("/login", **kwargs).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page)[1]
    return client.post("/login", data={"username": "ines", "password": PASSWORD, "csrf_token": token},
                       headers={**kwargs.pop("headers", {}), "Referer": referrer}, **kwargs)


def test_behind_a_proxy_the_forwarded_https_and_host_are_trusted(tmp_path, hub_database):  # type: ignore[no-untyped-def]
    app = _app(tmp_path, hub_database, behind_proxy=True)
    client = app.test_client()
    refused = _sign_in(client, "https://evil.example/login", headers=FORWARDED)
    assert refused.status_code == 400  # HTTPS seen: the strict referrer check applies
    signed = _sign_in(client, "https://hub.example.org/login", headers=FORWARDED)
    assert signed.status_code == 302
    assert "Secure" in signed.headers["Set-Cookie"] and "HttpOnly" in signed.headers["Set-Cookie"]


def test_without_the_setting_forwarded_headers_are_ignored(tmp_path, hub_database):  # type: ignore[no-untyped-def]
    app = _app(tmp_path, hub_database, behind_proxy=False)
    client = app.test_client()
    # The client claims another host through X-Forwarded-Host: not believed.
    spoofed = _sign_in(client, "https://hub.example.org/login", headers=FORWARDED, base_url="https://hub.internal")
    assert spoofed.status_code == 400
    signed = _sign_in(client, "https://hub.internal/login", base_url="https://hub.internal")
    assert signed.status_code == 302


def test_a_large_form_on_any_page_is_refused_with_a_413_page(hub_client):  # type: ignore[no-untyped-def]
    response = hub_client.post("/login", data={"username": "x" * 100_000, "password": "y"})
    assert response.status_code == 413 and "text/html" in response.content_type
    assert hub_client.get("/healthz").status_code == 200
