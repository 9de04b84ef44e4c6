"""`epn hub ...`: the regional hub's commands. Every command takes --data DIR (or
EPN_DATA) for the hub's data directory (its config.yaml with a `hub:` section; the
database is made there on first use) and --help.

A command that creates something prints its identifier or secret alone on the last
line of stdout (`add-epn`: the EPN's id on the line before the last, the enrolment
token on the last); bad input exits non-zero with a one-line reason.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from appliance.config import Config, ConfigError, load_config
from appliance.errors import InvalidInput, NotFound
from appliance.federation.hub import ORGANISERS

# Not imported from appliance.cli: that module registers this group when it is imported.
DATA_HELP = "The hub's data directory (default: $EPN_DATA, else ./data)."
DEFAULT_PORT = 8090


def open_hub(data_dir: Path) -> Config:
    """Load the hub's configuration and bring its database up to date, or fail in one line."""
    from peewee import OperationalError

    from appliance.federation.hub.db import HubSchemaTooNew, init_hub_database

    if not data_dir.is_dir():
        raise click.ClickException(f"{data_dir}: no such directory; create it with a config.yaml "
                                   "holding the hub: section")
    try:
        config = load_config(data_dir)
        init_hub_database(config)
    except (ConfigError, HubSchemaTooNew) as error:
        raise click.ClickException(str(error)) from None
    except OperationalError as error:  # PostgreSQL unreachable, SQLite file unwritable
        first_line = (str(error).strip().splitlines() or ["?"])[0]
        raise click.ClickException(f"hub database: {first_line}") from None
    return config


def hub_data_option(command: Callable) -> Callable:
    """Add --data DIR; hand the command the hub's configuration, with its database open.

    InvalidInput and NotFound become one-line errors (exit status 1).
    """

    @click.option("--data", "data_dir", envvar="EPN_DATA", default="data", show_envvar=True,
                  type=click.Path(file_okay=False, path_type=Path), help=DATA_HELP)
    @functools.wraps(command)
    def wrapped(data_dir: Path, **kwargs: Any) -> Any:
        from appliance.federation.hub.db import database

        config = open_hub(data_dir)
        try:
            with database.connection_context():
                return command(config, **kwargs)
        except InvalidInput as error:
            raise click.ClickException(f"{error.field}: {error}") from None
        except NotFound as error:
            raise click.ClickException(str(error)) from None

    return wrapped


def _now() -> datetime:
    return datetime.now(UTC)


@click.group()
def hub() -> None:
    """The regional hub: EPNs, their keys and reports, federation-wide figures."""


@hub.command()
@click.option("--data", "data_dir", envvar="EPN_DATA", default="data", show_envvar=True,
              type=click.Path(file_okay=False, path_type=Path), help=DATA_HELP)
@click.option("--host", default=None, help="Address to listen on (default: server.host).")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--workers", type=click.IntRange(1, 16), default=None, help="Worker processes (default: server.workers).")
def serve(data_dir: Path, host: str | None, port: int, workers: int | None) -> None:
    """Serve the hub's API with gunicorn (production settings)."""
    from appliance.federation.hub.app import create_hub_app
    from appliance.server import run_server

    config = open_hub(data_dir)  # no connection held: gunicorn forks its workers from here
    _purge(config)
    run_server(config, host or config.server.host, port, workers or config.server.workers,
               app_factory=create_hub_app, proc_name="epn-hub")


@hub.command("add-epn")
@hub_data_option
@click.option("--name", required=True, help="The EPN's name.")
@click.option("--commune", required=True, help="Municipality: NIS code, or French or Dutch name.")
@click.option("--postal-code", required=True, help="4-digit postal code.")
@click.option("--organiser", type=click.Choice(ORGANISERS), default="other", show_default=True)
def add_epn(config: Config, name: str, commune: str, postal_code: str, organiser: str) -> None:
    """Add an EPN; print its id, then its one-time enrolment token on the last line."""
    from appliance.federation.hub.accounts import CLI
    from appliance.federation.hub.administration import add_epn as add
    from appliance.municipalities import commune_label

    hours = config.hub.enrolment_token_hours
    epn, token = add(None, name, commune, postal_code, organiser, _now(), hours, origin=CLI)
    click.echo(f"EPN added: {epn.name} ({commune_label(epn.commune)} {epn.commune}, {epn.postal_code}, "
               f"{epn.organiser}).")
    click.echo(f"On the appliance, within {hours} hours: epn enrol HUB_URL TOKEN (the token works once).")
    click.echo(epn.id)
    click.echo(token)


@hub.command("enrol-token")
@hub_data_option
@click.argument("epn_id")
def enrol_token(config: Config, epn_id: str) -> None:
    """A new one-time enrolment token for an existing EPN (new appliance, revoked key)."""
    from appliance.federation.hub.accounts import CLI
    from appliance.federation.hub.administration import new_enrolment_token

    hours = config.hub.enrolment_token_hours
    token = new_enrolment_token(None, epn_id, _now(), hours, origin=CLI)
    click.echo(f"Enrolment token for {epn_id}, valid {hours} hours, works once:")
    click.echo(token)


@hub.command("revoke-key")
@hub_data_option
@click.argument("key_id")
def revoke_key(config: Config, key_id: str) -> None:
    """Revoke a key at once: reports signed with it are refused from the next request."""
    from appliance.federation.hub.accounts import CLI
    from appliance.federation.hub.administration import revoke_key as revoke

    key = revoke(None, key_id, _now(), origin=CLI)
    click.echo(f"Key {key.key_id} of {key.epn_id} is revoked; `epn hub enrol-token {key.epn_id}` "
               "gives the EPN a token to enrol again.")


@hub.command("deactivate")
@hub_data_option
@click.argument("epn_id")
def deactivate(config: Config, epn_id: str) -> None:
    """An EPN that closed: its keys are revoked and no report is expected from it."""
    from appliance.federation.hub.accounts import CLI
    from appliance.federation.hub.administration import retire

    epn = retire(None, epn_id, _now(), origin=CLI)
    click.echo(f"{epn.id} deactivated; its reports so far stay in the figures.")


@hub.command("list-epns")
@hub_data_option
def list_epns(config: Config) -> None:
    """The EPNs: id, name, municipality, key fingerprint, last report."""
    from appliance.federation.hub.epns import list_epns as rows_of

    rows = [("id", "name", "commune", "key fingerprint", "last report", "received")]
    for row in rows_of():
        received = row.last_received_at.strftime("%Y-%m-%d %H:%M") if row.last_received_at else "-"
        rows.append((row.id + ("" if row.active else " (inactive)"), row.name, row.commune,
                     row.fingerprint or "(not enrolled)", row.last_period or "-", received))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip())


@hub.command()
@hub_data_option
@click.option("--period", default=None, help="One period: 2026-W47, 2026-11 or 2026.")
@click.option("--from", "first", default=None, help="First period of a range.")
@click.option("--to", "last", default=None, help="Last period of a range (same kind).")
@click.option("--format", "output", type=click.Choice(["json", "csv"]), default="json", show_default=True)
def figures(config: Config, period: str | None, first: str | None, last: str | None, output: str) -> None:
    """Federation-wide figures of a period, or of each period of a range."""
    from appliance.federation.hub.export import figures_document, parse_periods, to_csv
    from appliance.federation.hub.merge import merge_range

    try:
        periods = parse_periods(period, first, last)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    merged = merge_range(periods, config.tz, config.hub.on_time_days)
    if output == "csv":
        click.echo(to_csv(merged), nl=False)
    else:
        document = figures_document(config.hub.name, merged, single=bool(period))
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@hub.group()
def token() -> None:
    """API tokens for the hub's figures API."""


@token.command("add")
@hub_data_option
@click.option("--name", required=True, help="What the token is for (e.g. 'observatory').")
def token_add(config: Config, name: str) -> None:
    """Create a hub API token; it is shown once, on the last line."""
    from appliance.federation.hub.access import create_api_token
    from appliance.federation.hub.accounts import CLI, audit
    from appliance.federation.hub.db import write_transaction

    with write_transaction():
        secret = create_api_token(name)
        audit(None, "token.add", "hub_" + secret.split("_")[1], CLI)
    click.echo("Hub API token created; store it now, it is not shown again:")
    click.echo(secret)


def _purge(config: Config) -> tuple[int, int]:
    """Apply the retention of accounts and audit entries when `hub serve` starts."""
    from appliance.federation.hub.accounts import purge
    from appliance.federation.hub.db import database
    from appliance.federation.hub.epns import naive_utc

    try:
        with database.connection_context():
            return purge(naive_utc(_now()), config.hub.account_retention_days, config.hub.audit_days)
    finally:
        close_all = getattr(database.obj, "close_all", None)  # a PostgreSQL pool: no connection
        if close_all is not None:                              # may outlive a fork into workers
            close_all()


@hub.command("purge")
@hub_data_option
def purge_command(config: Config) -> None:
    """Delete accounts disabled for more than hub.account_retention_days and audit entries
    older than hub.audit_days (also done when `hub serve` starts, and daily while it runs)."""
    from appliance.federation.hub.accounts import purge
    from appliance.federation.hub.epns import naive_utc

    accounts, entries = purge(naive_utc(_now()), config.hub.account_retention_days, config.hub.audit_days)
    click.echo(f"Deleted {accounts} disabled account(s) and {entries} audit entr{'y' if entries == 1 else 'ies'}.")


@hub.group()
def user() -> None:
    """The coordination's accounts for the hub's dashboard."""


@user.command("add")
@hub_data_option
@click.argument("username")
@click.option("--role", type=click.Choice(("coordinator", "admin")), default="coordinator", show_default=True)
@click.option("--display-name", default="", help="Name shown on the pages (default: the username).")
def user_add(config: Config, username: str, role: str, display_name: str) -> None:
    """Add an account; the password is read from stdin when it is not a terminal. Prints the
    username last."""
    import sys

    from appliance.federation.hub.accounts import CLI, add_account

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    account = add_account(None, username, password, role, display_name, origin=CLI)
    click.echo(f"Hub account added ({account.role}):")
    click.echo(account.login)


@user.command("disable")
@hub_data_option
@click.argument("username")
def user_disable(config: Config, username: str) -> None:
    """Disable an account: its sessions end at once; it is deleted after hub.account_retention_days."""
    from appliance.federation.hub.accounts import CLI, find_account, set_active
    from appliance.federation.hub.epns import naive_utc

    account = set_active(None, find_account(username).id, False, naive_utc(_now()), origin=CLI)
    click.echo(f"{account.login} disabled; deleted after {config.hub.account_retention_days} days.")


@user.command("enable")
@hub_data_option
@click.argument("username")
def user_enable(config: Config, username: str) -> None:
    """Enable a disabled account again."""
    from appliance.federation.hub.accounts import CLI, find_account, set_active
    from appliance.federation.hub.epns import naive_utc

    account = set_active(None, find_account(username).id, True, naive_utc(_now()), origin=CLI)
    click.echo(f"{account.login} enabled.")


@user.command("list")
@hub_data_option
def user_list(config: Config) -> None:
    """The accounts: username, role, status, last sign-in."""
    from appliance.federation.hub.accounts import HubAccount

    for account in HubAccount.select().order_by(HubAccount.login):
        last = account.last_login_at.strftime("%Y-%m-%d %H:%M") if account.last_login_at else "never"
        status = "active" if account.active else "disabled"
        click.echo(f"{account.login}  {account.role}  {status}  last sign-in {last}")
