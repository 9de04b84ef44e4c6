"""`epn hub user ...`, `epn hub purge`, and the audit entry every administrative command
writes (the same log as the administration pages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.cli import cli
from appliance.federation.hub.accounts import AuditEntry, HubAccount
from appliance.federation.hub.db import database
from tests.hub.conftest import enrolment_request, make_hub_app

PASSWORD = "correct horse battery"


def run(data, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["hub", *args, "--data", str(data)], input=input)


def accounts() -> dict[str, tuple[str, bool]]:
    with database.connection_context():
        return {a.login: (a.role, a.active) for a in HubAccount.select()}


def audit_log() -> list[tuple[str, str, str]]:
    with database.connection_context():
        return [(e.action, e.target, e.detail) for e in AuditEntry.select().order_by(AuditEntry.id)]


def test_user_add_reads_the_password_from_stdin_and_prints_the_login_last(hub_dir):  # type: ignore[no-untyped-def]
    result = run(hub_dir, "user", "add", "Ada", "--role", "admin", "--display-name", "Ada L.", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "ada"
    assert accounts() == {"ada": ("admin", True)}
    assert audit_log() == [("account.add", "ada", "cli; role=admin")]
    app = make_hub_app({"DATA_DIR": hub_dir, "TESTING": True})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token"')[1].split('value="')[1].split('"')[0]
    signed = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 302
    assert client.get("/admin/accounts").status_code == 200


def test_user_add_refuses_bad_input_in_one_line_and_writes_nothing(hub_dir):  # type: ignore[no-untyped-def]
    for args, stdin, message in [
        (("user", "add", "ada"), "short\n", "password"),
        (("user", "add", "x"), PASSWORD + "\n", "username"),
        (("user", "add", "ada", "--display-name", "a" * 81), PASSWORD + "\n", "display_name"),
    ]:
        result = run(hub_dir, *args, input=stdin)
        assert result.exit_code == 1 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert run(hub_dir, "user", "add", "ada", "--role", "emperor", input=PASSWORD).exit_code == 2
    assert accounts() == {} and audit_log() == []
    assert run(hub_dir, "user", "add", "ada", input=PASSWORD).exit_code == 0
    again = run(hub_dir, "user", "add", "ADA", input=PASSWORD)
    assert again.exit_code == 1 and "taken" in again.output
    assert len(audit_log()) == 1


def test_user_disable_and_the_last_admin(hub_dir):  # type: ignore[no-untyped-def]
    run(hub_dir, "user", "add", "ada", "--role", "admin", input=PASSWORD)
    run(hub_dir, "user", "add", "cole", input=PASSWORD)
    last = run(hub_dir, "user", "disable", "ada")
    assert last.exit_code == 1 and "admin" in last.output
    assert run(hub_dir, "user", "disable", "cole").exit_code == 0
    assert run(hub_dir, "user", "disable", "nobody").exit_code == 1
    assert accounts() == {"ada": ("admin", True), "cole": ("coordinator", False)}
    assert "cole  coordinator  disabled" in run(hub_dir, "user", "list").output
    assert run(hub_dir, "user", "enable", "cole").exit_code == 0
    assert [entry[:2] for entry in audit_log()][2:] == [("account.disable", "cole"), ("account.enable", "cole")]


def test_every_administrative_command_is_audited(hub_dir):  # type: ignore[no-untyped-def]
    added = run(hub_dir, "add-epn", "--name", "EPN A", "--commune", "Saint-Gilles", "--postal-code", "1060")
    epn_id, token = added.output.splitlines()[-2:]
    client = make_hub_app({"DATA_DIR": hub_dir, "TESTING": True},
                          datetime.now(UTC).replace(microsecond=0)).test_client()
    key_id = client.post("/api/v1/enrol", json=enrolment_request(token, Ed25519PrivateKey.generate())).get_json()[
        "key_id"]
    assert run(hub_dir, "enrol-token", epn_id).exit_code == 0
    assert run(hub_dir, "revoke-key", key_id).exit_code == 0
    assert run(hub_dir, "deactivate", epn_id).exit_code == 0
    assert run(hub_dir, "token", "add", "--name", "observatory").exit_code == 0
    assert run(hub_dir, "list-epns").exit_code == 0  # reading is not audited
    log = audit_log()
    assert [(action, target) for action, target, _ in log[:4]] == [
        ("epn.add", epn_id), ("epn.token", epn_id), ("key.revoke", epn_id), ("epn.retire", epn_id)]
    assert log[4][0] == "token.add" and log[4][1].startswith("hub_")
    assert all(detail.startswith("cli") for _, _, detail in log)


def test_purge_applies_the_retention(hub_dir):  # type: ignore[no-untyped-def]
    run(hub_dir, "user", "add", "ada", "--role", "admin", input=PASSWORD)
    run(hub_dir, "user", "add", "cole", input=PASSWORD)
    long_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=400)
    with database.connection_context():
        HubAccount.update(active=False, disabled_at=long_ago).where(HubAccount.login == "cole").execute()
        AuditEntry.create(at=long_ago - timedelta(days=3000), action="epn.add", target="epn-9")
    result = run(hub_dir, "purge")
    assert result.exit_code == 0 and "Deleted 1 disabled account(s) and 1 audit entry." in result.output
    assert accounts() == {"ada": ("admin", True)}
    assert [entry[0] for entry in audit_log()] == ["account.add", "account.add", "purge"]
    assert "Deleted 0" in run(hub_dir, "purge").output


def test_the_new_commands_have_help():
    for command in ("user add", "user disable", "user enable", "user list", "purge"):
        result = CliRunner().invoke(cli, ["hub", *command.split(), "--help"])
        assert result.exit_code == 0 and "--data" in result.output, command
