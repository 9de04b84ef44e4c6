"""`epn update`: the appliance pulls, verifies and installs a signed release."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from appliance.config import Config, ConfigError, load_config

DATA_HELP = "The data directory (default: $EPN_DATA, else ./data)."


def health_url(config: Config) -> str:
    """Where this machine's `epn serve` answers: loopback unless bound to one address."""
    host = config.server.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.is_unspecified:
        host = "127.0.0.1"
    elif address.version == 6:
        host = f"[{host}]"
    return f"http://{host}:{config.server.port}/healthz"


@click.command()
@click.option("--data", "data_dir", envvar="EPN_DATA", default="data", show_envvar=True,
              type=click.Path(file_okay=False, path_type=Path), help=DATA_HELP)
@click.option("--if-configured", is_flag=True,
              help="Do nothing, silently, when update.url is empty (for the nightly timer).")
@click.option("--from", "source", default=None, metavar="URL_OR_PATH",
              help="A release folder, an index (.json) or a release (.tar with its .sig beside "
                   "it), by https:// address or path (default: update.url).")
@click.option("--check", is_flag=True, help="Only say whether a newer, valid release is offered.")
@click.option("--prefix", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where releases are installed (default: update.prefix, /opt/epn).")
@click.option("--allow-downgrade", is_flag=True, help="Accept a release older than the installed one.")
def update(data_dir: Path, if_configured: bool, source: str | None, check: bool,
           prefix: Path | None, allow_downgrade: bool) -> None:
    """Install the newest signed release, and roll back by itself if /healthz fails.

    Everything is checked (size, SHA-256, signature with update.trusted_keys, arch,
    version, schema) before anything changes; the database is snapshotted before the
    switch and restored if the failed release changed its schema.
    """
    from appliance.cli import setup_logging
    from appliance.update.apply import Request, UpdateFailed, run_update
    from appliance.update.bundle import ReleaseError

    if not (data_dir / "config.yaml").exists():
        if if_configured and not source:
            return
        raise click.ClickException(f"{data_dir}: no appliance data here (no config.yaml)")
    try:
        config = load_config(data_dir)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    source = source or config.update.url
    if not source:
        if if_configured:
            return
        raise click.ClickException("update.url is empty: set it in config.yaml, or give --from")
    setup_logging(config)
    job = Request(
        source=source, prefix=prefix or Path(config.update.prefix),
        trusted_keys=config.update.trusted_keys, restart_command=config.update.restart_command,
        health_url=health_url(config), health_seconds=config.update.health_seconds,
        keep_releases=config.update.keep_releases, database=config.database_path,
        allow_downgrade=allow_downgrade, check_only=check, automatic=if_configured,
    )
    try:
        click.echo(run_update(job))
    except (ReleaseError, UpdateFailed) as error:
        raise click.ClickException(str(error)) from None
