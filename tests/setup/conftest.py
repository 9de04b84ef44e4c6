"""Fixtures of the first-boot setup tests: a data directory with setup pending and its
code, the app on it, and a client that typed the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from appliance.setup.code import make_code
from appliance.setup.state import PENDING, changing_state
from appliance.web import create_app
from tests.conftest import csrf_token

NEW_SITE = {"name": "EPN Les Marolles", "commune": "Bruxelles", "postal_code": "1000",
            "computers": "8", "timezone": "Europe/Brussels"}
NEW_WIFI = {"ssid": "Marolles-Visiteurs", "portal": "y"}
NEW_ACCOUNT = {"username": "ines", "display_name": "Inès", "password": "a-long-password-1",
               "password_again": "a-long-password-1"}


def mark_pending(data_dir: Path) -> str:
    """Setup pending on this data directory; returns the code as the console shows it."""
    with changing_state(data_dir) as state:
        state["status"] = PENDING
    return make_code(data_dir)


@pytest.fixture
def code(data_dir: Path) -> str:
    return mark_pending(data_dir)


@pytest.fixture
def app(data_dir: Path, code: str):  # type: ignore[no-untyped-def]
    return create_app({"DATA_DIR": data_dir, "TESTING": True})


def post(client: Any, path: str, data: dict[str, str]) -> Any:
    """Post a form of the wizard with the page's CSRF token, as a browser would."""
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


@pytest.fixture
def claimed(client: Any, code: str) -> Any:
    """A client that typed the right code."""
    response = post(client, "/setup/", {"code": code})
    assert response.status_code == 302 and response.headers["Location"].endswith("/setup/site")
    return client


def answer_all(client: Any, hub: dict[str, str] | None = None) -> None:
    """Answer every step (the hub skipped unless given) up to the review page."""
    for path, data in (("/setup/site", NEW_SITE), ("/setup/wifi", NEW_WIFI), ("/setup/account", NEW_ACCOUNT),
                       ("/setup/hub", hub or {"action": "skip"})):
        response = post(client, path, data)
        assert response.status_code == 302, (path, text_of(response)[:2000])


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def field_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html)
    return match.group(1) if match else None
