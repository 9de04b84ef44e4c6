"""The wizard through the Flask test client: the code first, each step's errors keep
what was typed, nothing is written before "finish", and once done /setup/ is closed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from appliance.config import load_config
from appliance.setup.code import MAX_FAILURES
from appliance.setup.finish import STEPS
from appliance.setup.state import read_state, state_path
from tests.conftest import csrf_token
from tests.setup.conftest import (
    NEW_ACCOUNT,
    NEW_SITE,
    NEW_WIFI,
    answer_all,
    field_value,
    post,
    text_of,
)


def finish(client: Any, data_dir: Path) -> Any:
    """Press "finish" and follow the progress page until it sends elsewhere."""
    assert post(client, "/setup/review", {}).headers["Location"].endswith("/setup/progress")
    return follow_progress(client)


def follow_progress(client: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/setup/progress")
        if response.status_code != 200 or "http-equiv=\"refresh\"" not in text_of(response):
            return response
        time.sleep(0.1)
    raise AssertionError("the finishing steps did not end")


@pytest.mark.parametrize("path", ["/", "/staff/", "/staff/login", "/api/v1/today", "/booking/", "/nowhere"])
def test_while_pending_every_page_sends_to_setup(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"] == "/setup/"


def test_while_pending_health_and_static_files_still_answer(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/setup/").status_code == 200


@pytest.mark.parametrize("path", ["/setup/site", "/setup/wifi", "/setup/account", "/setup/hub",
                                  "/setup/review", "/setup/progress"])
def test_no_step_opens_without_the_code(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"] == "/setup/"


def test_no_step_can_be_posted_without_the_code(client, data_dir):
    for path, data in (("/setup/site", NEW_SITE), ("/setup/review", {}), ("/setup/retry", {})):
        response = client.post(path, data=data)
        assert response.status_code in (302, 400), path
    assert "draft" not in read_state(data_dir)
    assert "job" not in read_state(data_dir)


def test_a_wrong_code_is_refused_in_the_chosen_language_and_kept(client):
    client.set_cookie("epn_lang", "nl")
    response = post(client, "/setup/", {"code": "ZZZZ-ZZZZ"})
    assert response.status_code == 400
    assert field_value(text_of(response), "code") == "ZZZZ-ZZZZ"
    assert "Dit is niet de code" in text_of(response)


def test_after_too_many_wrong_codes_even_the_right_one_must_wait(client, code, caplog):
    for _ in range(MAX_FAILURES - 1):
        assert post(client, "/setup/", {"code": "ZZZZ-ZZZZ"}).status_code == 400
    assert post(client, "/setup/", {"code": "ZZZZ-ZZZZ"}).status_code == 429
    refused = post(client, "/setup/", {"code": code})
    assert refused.status_code == 429 and "minutes" in text_of(refused).lower()
    assert client.get("/setup/site").headers["Location"] == "/setup/"
    assert caplog.text.count("wrong setup code from 127.0.0.1") == MAX_FAILURES


def test_the_code_of_another_boot_no_longer_opens_the_wizard(claimed, data_dir):
    from appliance.setup.code import make_code

    make_code(data_dir)
    assert claimed.get("/setup/site").headers["Location"] == "/setup/"


STEP_ERRORS = [
    ("/setup/site", {**NEW_SITE, "commune": "Atlantis"}, "commune", "Atlantis"),
    ("/setup/site", {**NEW_SITE, "postal_code": "10000"}, "postal_code", "10000"),
    ("/setup/site", {**NEW_SITE, "computers": "many"}, "computers", "many"),
    ("/setup/site", {**NEW_SITE, "name": ""}, "commune", NEW_SITE["commune"]),
    ("/setup/wifi", {**NEW_WIFI, "ssid": "É" * 17}, "ssid", "É" * 17),
    ("/setup/account", {**NEW_ACCOUNT, "password_again": "something-else-1"}, "username", "ines"),
    ("/setup/account", {**NEW_ACCOUNT, "password": "short", "password_again": "short"}, "display_name", "Inès"),
    ("/setup/account", {**NEW_ACCOUNT, "username": "Not Valid!"}, "username", "Not Valid!"),
    ("/setup/account", {**NEW_ACCOUNT, "username": "coline"}, "username", "coline"),
    ("/setup/hub", {"hub_url": "ftp://hub.example.be", "token": "abc"}, "hub_url", "ftp://hub.example.be"),
    ("/setup/hub", {"hub_url": "https://hub.example.be", "token": ""}, "hub_url", "https://hub.example.be"),
]


@pytest.mark.parametrize(("path", "data", "kept", "value"), STEP_ERRORS)
def test_each_wrong_answer_is_explained_in_french_and_what_was_typed_stays(claimed, data_dir, path, data,
                                                                           kept, value):
    response = post(claimed, path, data)
    html = text_of(response)
    assert response.status_code == 400
    assert 'class="error"' in html and 'aria-invalid="true"' in html
    assert 'lang="fr"' in html and "Please correct" not in html
    assert field_value(html, kept) == value.replace("è", "&#232;") or field_value(html, kept) == value
    assert "draft" not in read_state(data_dir) or path.rsplit("/", 1)[1] not in read_state(data_dir)["draft"]


def test_answers_can_be_changed_until_finish_and_nothing_is_written_before(claimed, data_dir):
    config_before = (data_dir / "config.yaml").read_text()
    answer_all(claimed)
    post(claimed, "/setup/site", {**NEW_SITE, "name": "EPN Anneessens"})
    page = text_of(claimed.get("/setup/review"))
    assert "EPN Anneessens" in page and "Marolles-Visiteurs" in page and "ines" in page
    assert (data_dir / "config.yaml").read_text() == config_before
    assert "a-long-password-1" not in state_path(data_dir).read_text()
    # The password may be left empty to keep the one chosen before.
    kept = post(claimed, "/setup/account", {**NEW_ACCOUNT, "password": "", "password_again": ""})
    assert kept.status_code == 302


def test_the_whole_wizard_without_a_hub(claimed, data_dir, client, app):
    answer_all(claimed)
    done = finish(claimed, data_dir)
    assert done.status_code == 302 and done.headers["Location"] == "/staff/login"
    assert "La configuration est terminée" in text_of(claimed.get("/staff/login"))
    config = load_config(data_dir, environ={})
    assert (config.site.name, config.site.commune, config.site.postal_code) == ("EPN Les Marolles", "21004", "1000")
    assert (config.site.computers, config.wifi.ssid, config.wifi.backend) == (8, "Marolles-Visiteurs", "nft")
    assert "Marolles-Visiteurs" in (data_dir / "network" / "hostapd.conf").read_text()
    state = read_state(data_dir)
    assert state["status"] == "done" and "code" not in state and "draft" not in state
    # Closed for good; the new coordinator signs in.
    assert claimed.get("/setup/").headers["Location"] == "/staff/login"
    assert post(claimed, "/staff/login", {"username": "ines", "password": "a-long-password-1"}).status_code == 302
    assert claimed.get("/staff/").status_code == 200


def test_once_done_the_code_no_longer_works_and_setup_sends_to_the_login(claimed, code, data_dir):
    answer_all(claimed)
    finish(claimed, data_dir)
    other = claimed.application.test_client()
    response = other.post("/setup/", data={"code": code, "csrf_token": csrf_token(other)})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert other.get("/setup/site").headers["Location"] == "/staff/login"
    assert other.get("/").status_code == 200


def test_finishing_interrupted_by_a_crash_can_be_retried(claimed, data_dir):
    answer_all(claimed)
    state = json.loads(state_path(data_dir).read_text())
    # As left by a worker killed in the middle of the account step.
    state["job"] = {"id": "gone", "pid": 2**22 + 12345, "moved_at": "2026-11-22T09:00:00",
                    "steps": {**{step: "waiting" for step in STEPS}, "hub": "skipped", "settings": "done",
                              "account": "running"}}
    state_path(data_dir).write_text(json.dumps(state))
    page = text_of(claimed.get("/setup/progress"))
    assert "arrêté pendant la fin" in page and "http-equiv" not in page
    assert post(claimed, "/setup/progress", {}).status_code == 405
    response = claimed.post("/setup/retry", data={"csrf_token": _token(page)})
    assert response.headers["Location"].endswith("/setup/progress")
    assert follow_progress(claimed).headers["Location"] == "/staff/login"
    assert read_state(data_dir)["status"] == "done"


def _token(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_the_language_links_of_the_wizard_work_while_pending(client):
    response = client.get("/setup/lang/nl?next=/setup/")
    assert response.status_code == 302 and "epn_lang=nl" in response.headers["Set-Cookie"]
    page = text_of(client.get("/setup/"))
    assert 'lang="nl"' in page and "/setup/lang/fr" in page


def test_the_state_file_is_private(claimed, data_dir):
    answer_all(claimed)
    assert os.stat(state_path(data_dir)).st_mode & 0o077 == 0


HOSTILE = ["http://[::1", "\x00", "é" * 400, "../../etc/passwd", "<script>alert(1)</script>", "99999999999999999999999"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_input_on_any_step_is_refused_or_taken_never_a_500(claimed, value):
    forms = {"/setup/site": ["name", "commune", "postal_code", "computers", "timezone"],
             "/setup/wifi": ["ssid"], "/setup/account": ["username", "display_name", "password"],
             "/setup/hub": ["hub_url", "token"]}
    for path, names in forms.items():
        response = post(claimed, path, {name: value for name in names})
        assert response.status_code in (302, 400), (path, value, response.status_code)
        assert "<script>alert" not in text_of(response)
