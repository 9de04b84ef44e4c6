"""The hub step of the wizard against a real `epn hub serve`: its progress, the failure
shown in the visitor's words, and the retry. Nothing else is written while the
enrolment fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.db import database
from appliance.models import FederationLink
from appliance.setup.state import read_state
from tests.federation.test_e2e_hub import RealHub, epn
from tests.setup.conftest import answer_all, post, text_of
from tests.setup.test_wizard import finish, follow_progress

pytestmark = pytest.mark.system


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RealHub]:
    real = RealHub(tmp_path / "hub")  # not started: each test starts it when it needs it
    yield real
    real.stop()


def link() -> FederationLink | None:
    with database.connection_context():
        return FederationLink.get_or_none()


def retry(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/setup/progress")
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text_of(page)).group(1)
    assert client.post("/setup/retry", data={"csrf_token": token}).status_code == 302


def test_a_hub_that_does_not_answer_fails_clearly_and_a_retry_enrols(claimed, data_dir, hub):
    token = hub.add_epn()
    config_before = (data_dir / "config.yaml").read_text()
    answer_all(claimed, {"hub_url": hub.url, "token": token, "action": "save"})
    failed = finish(claimed, data_dir)
    page = text_of(failed)
    assert failed.status_code == 200 and "http-equiv" not in page
    assert "Le hub n&#39;a pas répondu" in page or "Le hub n'a pas répondu" in page
    assert "Réessayer" in page and "/setup/hub" in page
    assert page.count("En attente") == 4 and "Échec" in page  # nothing after the hub ran
    assert (data_dir / "config.yaml").read_text() == config_before
    assert read_state(data_dir)["status"] == "pending" and link() is None

    hub.start()
    retry(claimed)
    assert follow_progress(claimed).headers["Location"] == "/staff/login"
    enrolled = link()
    assert enrolled is not None and enrolled.hub_url == hub.url and enrolled.hub_id == "brussels"
    assert read_state(data_dir)["status"] == "done"


def test_a_used_token_says_so_and_a_new_token_typed_on_the_hub_step_enrols(claimed, data_dir, hub, tmp_path):
    hub.start()
    token = hub.add_epn()
    other = tmp_path / "other"
    assert epn("init", "--data", str(other), "--name", "Another EPN").returncode == 0
    used = epn("enrol", hub.url, token, "--data", str(other))
    assert used.returncode == 0, used.stderr
    epn_id = used.stdout.strip().splitlines()[-1]

    answer_all(claimed, {"hub_url": hub.url, "token": token, "action": "save"})
    page = text_of(finish(claimed, data_dir))
    assert "déjà été utilisé" in page and "used_token" in page
    retry(claimed)
    assert "déjà été utilisé" in text_of(follow_progress(claimed))

    fresh = epn("hub", "enrol-token", epn_id, "--data", str(hub.data)).stdout.strip().splitlines()[-1]
    changed = post(claimed, "/setup/hub", {"hub_url": hub.url, "token": fresh, "action": "save"})
    assert changed.headers["Location"].endswith("/setup/review")
    assert finish(claimed, data_dir).headers["Location"] == "/staff/login"
    assert link().epn_id == epn_id
