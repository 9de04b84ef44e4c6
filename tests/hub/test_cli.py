"""`epn hub ...`: what operators script. A command that creates something prints it alone
on the last line; bad input is one line on stderr and a non-zero exit."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.cli import cli
from appliance.period import Period
from tests.conftest import EPN, free_port
from tests.hub.conftest import WEEK, Appliance, enrolment_request, make_hub_app, write_hub_config

# The CLI runs on the real clock: so do the apps here, with weeks closed weeks ago.
REAL_NOW = datetime.now(UTC).replace(microsecond=0)
OLDER = Period.containing((REAL_NOW - timedelta(days=21)).date(), "week")
OLD = OLDER.next()
CREATED = (REAL_NOW - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(data: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["hub", *args, "--data", str(data)], input=input)


def _add(data: Path, *extra: str) -> tuple[str, str]:
    result = run(data, "add-epn", "--name", "EPN Saint-Gilles", "--commune", "Sint-Gillis",
                 "--postal-code", "1060", *extra)
    assert result.exit_code == 0, result.output
    *_, epn_id, token = result.output.splitlines()
    return epn_id, token


def test_add_epn_prints_the_id_then_the_token_on_the_last_line(hub_dir):  # type: ignore[no-untyped-def]
    epn_id, token = _add(hub_dir, "--organiser", "cpas")
    assert epn_id == "epn-1" and len(token) >= 32 and " " not in token
    assert _add(hub_dir)[0] == "epn-2"
    client = make_hub_app({"DATA_DIR": hub_dir, "TESTING": True}, REAL_NOW).test_client()
    answer = client.post("/api/v1/enrol", json=enrolment_request(token, Ed25519PrivateKey.generate()))
    assert answer.status_code == 200 and answer.get_json()["epn"] == "epn-1"


@pytest.mark.parametrize("args,message", [
    (["--name", "X", "--commune", "Atlantis", "--postal-code", "1060"], "unknown municipality"),
    (["--name", "X", "--commune", "21013", "--postal-code", "106"], "postal_code"),
    (["--name", " ", "--commune", "21013", "--postal-code", "1060"], "name"),
    (["--name", "X", "--commune", "21013", "--postal-code", "1060", "--organiser", "church"], "organiser"),
])
def test_add_epn_refuses_bad_input_in_one_line(hub_dir, args, message):  # type: ignore[no-untyped-def]
    result = run(hub_dir, "add-epn", *args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_a_missing_data_directory_is_one_line(tmp_path):  # type: ignore[no-untyped-def]
    result = run(tmp_path / "nowhere", "list-epns")
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "no such directory" in result.output


def test_a_bad_hub_setting_is_one_line(tmp_path):  # type: ignore[no-untyped-def]
    data = write_hub_config(tmp_path / "hub", "  max_report_kb: lots\n")
    result = run(data, "list-epns")
    assert result.exit_code == 1 and "hub.max_report_kb" in result.output


def _enrolled_with_reports(data: Path) -> Appliance:
    epn_id, token = _add(data)
    client = make_hub_app({"DATA_DIR": data, "TESTING": True}, REAL_NOW).test_client()
    key = Ed25519PrivateKey.generate()
    key_id = client.post("/api/v1/enrol", json=enrolment_request(token, key)).get_json()["key_id"]
    appliance = Appliance(client, epn_id, key, key_id)
    appliance.report(str(OLDER), WEEK, created_at=CREATED)
    appliance.report(str(OLD), {**WEEK, "visits.total": 71}, created_at=CREATED)
    return appliance


def test_figures_as_json_and_csv(hub_dir):  # type: ignore[no-untyped-def]
    _enrolled_with_reports(hub_dir)
    result = run(hub_dir, "figures", "--period", str(OLD))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totals"]["visits.total"] == 71
    result = run(hub_dir, "figures", "--from", str(OLDER), "--to", str(OLD), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    totals = {r["period"]: r["value"] for r in rows if (r["section"], r["key"]) == ("total", "visits.total")}
    assert totals == {str(OLDER): "70", str(OLD): "71"}
    result = run(hub_dir, "figures", "--period", str(OLD), "--from", str(OLDER))
    assert result.exit_code == 1 and "either" in result.output


def test_list_epns_shows_fingerprint_and_last_report(hub_dir):  # type: ignore[no-untyped-def]
    from appliance.federation import keys

    appliance = _enrolled_with_reports(hub_dir)
    _add(hub_dir)
    output = run(hub_dir, "list-epns").output.splitlines()
    assert output[0].split()[:3] == ["id", "name", "commune"]
    assert keys.fingerprint(keys.public_bytes(appliance.key)) in output[1]
    assert str(OLD) in output[1] and "21013" in output[1]
    assert "(not enrolled)" in output[2]


def test_revoke_key_takes_effect_at_once(hub_dir):  # type: ignore[no-untyped-def]
    appliance = _enrolled_with_reports(hub_dir)
    result = run(hub_dir, "revoke-key", appliance.key_id)
    assert result.exit_code == 0 and appliance.key_id in result.output
    response = appliance.report(str(OLDER.previous()), WEEK, created_at=CREATED)
    assert (response.status_code, response.get_json()["reason"]) == (401, "revoked_key")
    assert run(hub_dir, "revoke-key", "0000").exit_code == 1
    # A new token lets the EPN enrol a new key.
    result = run(hub_dir, "enrol-token", appliance.epn)
    assert result.exit_code == 0
    answer = appliance.client.post("/api/v1/enrol", json=enrolment_request(result.output.splitlines()[-1],
                                                                           Ed25519PrivateKey.generate()))
    assert answer.get_json()["last_sequence"] == 2


def test_deactivate_revokes_the_keys_and_stops_expecting_reports(hub_dir):  # type: ignore[no-untyped-def]
    appliance = _enrolled_with_reports(hub_dir)
    assert run(hub_dir, "deactivate", appliance.epn).exit_code == 0
    assert appliance.report(str(OLDER.previous()), WEEK, created_at=CREATED).status_code == 401
    assert run(hub_dir, "enrol-token", appliance.epn).exit_code == 1
    assert "(inactive)" in run(hub_dir, "list-epns").output


def test_token_add_prints_the_token_last_and_it_opens_the_figures_api(hub_dir):  # type: ignore[no-untyped-def]
    result = run(hub_dir, "token", "add", "--name", "observatory")
    assert result.exit_code == 0
    token = result.output.splitlines()[-1]
    client = make_hub_app({"DATA_DIR": hub_dir, "TESTING": True}, REAL_NOW).test_client()
    response = client.get(f"/api/v1/figures?period={OLD}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert run(hub_dir, "token", "add", "--name", "").exit_code == 1


def test_every_hub_command_has_help():
    runner = CliRunner()
    for command in ("serve", "add-epn", "enrol-token", "revoke-key", "deactivate", "list-epns", "figures",
                    "token add"):
        result = runner.invoke(cli, ["hub", *command.split(), "--help"])
        assert result.exit_code == 0 and "--data" in result.output, command


@pytest.mark.system
def test_hub_serve_runs_on_a_data_directory_with_only_a_config_file(tmp_path):  # type: ignore[no-untyped-def]
    data = write_hub_config(tmp_path / "hub")
    log_path = tmp_path / "hub.log"
    process, url = _serve(data, log_path)
    try:
        epn_id, token = _add(data)
        key = Ed25519PrivateKey.generate()
        answer = requests.post(url + "/api/v1/enrol", json=enrolment_request(token, key), timeout=5).json()

        class _Http:  # the Appliance double, over real HTTP
            def post(self, path, data, headers):  # type: ignore[no-untyped-def]
                return _Response(requests.post(url + path, data=data, headers=headers, timeout=5))

        appliance = Appliance(_Http(), epn_id, key, answer["key_id"])
        assert appliance.report(str(OLD), WEEK, created_at=CREATED).status_code == 201
        # The same report sent at once by eight clients (two workers): stored exactly once.
        raw = appliance.body(str(OLDER), WEEK, created_at=CREATED)
        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(lambda _: appliance.push(raw).status_code, range(8)))
        assert codes == [200] * 7 + [201]
        assert requests.post(url + "/api/v1/reports", data=b"x" * 70_000, timeout=5).status_code == 413
        assert requests.get(url + f"/api/v1/figures?period={OLD}&x=secret", timeout=5).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=15)
    output = log_path.read_text()
    assert "POST /api/v1/reports 201" in output and "GET /api/v1/figures 401" in output
    assert "secret" not in output and "127.0.0.1 " not in output.replace(url.removeprefix("http://"), "")
    assert (data / "hub.sqlite3").exists() and (data / "secret_key").exists()


class _Response:
    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self._json = response.json()

    def get_json(self):  # type: ignore[no-untyped-def]
        return self._json


def _serve(data: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """`epn hub serve` (2 workers) on a free port, answering; the caller terminates it."""
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen([EPN, "hub", "serve", "--host", "127.0.0.1", "--port", str(port),
                                    "--workers", "2"], stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "EPN_DATA": str(data)})
    url = f"http://127.0.0.1:{port}"
    _wait_for(url + "/healthz", process, log_path)
    return process, url


def _wait_for(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("epn hub serve exited: " + log_path.read_text(errors="replace"))
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("epn hub serve did not answer within 20 s")
