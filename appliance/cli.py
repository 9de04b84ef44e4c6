"""The `epn` command. Every subcommand takes --data DIR (or EPN_DATA) and --help.

A command that creates something prints its identifier or secret alone on the last
line of stdout; bad input exits non-zero with a one-line reason.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from typing import Any, Callable

import click

from appliance.config import Config, ConfigError, load_config, write_config_file
from appliance.errors import InvalidInput

DATA_HELP = "The data directory (default: $EPN_DATA, else ./data)."


def data_option(command: Callable) -> Callable:
    """Add --data DIR to a command and hand it the loaded, migrated configuration."""

    @click.option("--data", "data_dir", envvar="EPN_DATA", default="data", show_envvar=True,
                  type=click.Path(file_okay=False, path_type=Path), help=DATA_HELP)
    @functools.wraps(command)
    def wrapped(data_dir: Path, **kwargs: Any) -> Any:
        return command(open_data(data_dir), **kwargs)

    return wrapped


def open_data(data_dir: Path, must_exist: bool = True) -> Config:
    """Load the configuration and bring the database up to date, or fail in one line."""
    from appliance.db import init_database
    from appliance.migrations import SchemaTooNew

    if must_exist and not (data_dir / "epn.sqlite3").exists():
        raise click.ClickException(f"{data_dir}: no appliance data here; run `epn init --data {data_dir}` first")
    try:
        config = load_config(data_dir)
        init_database(config.database_path)
    except (ConfigError, SchemaTooNew) as error:
        raise click.ClickException(str(error)) from None
    return config


def fail_on_invalid(command: Callable) -> Callable:
    """Turn a domain's InvalidInput into a one-line error and exit status 1."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InvalidInput as error:
            raise click.ClickException(f"{error.field}: {error}") from None

    return wrapped


def setup_logging(config: Config) -> None:
    logging.basicConfig(
        stream=sys.stdout, level=config.log.level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="epn-appliance")
def cli() -> None:
    """EPN appliance: front desk, visits and statistics of a public digital space."""


def main(args: list[str] | None = None) -> None:
    """Entry point: any error, usage errors included, is one line on stderr."""
    try:
        result = cli.main(args=args, prog_name="epn", standalone_mode=False)
    except click.ClickException as error:
        click.echo(f"Error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except click.Abort:
        click.echo("Error: aborted", err=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


@cli.command()
@click.option("--data", "data_dir", envvar="EPN_DATA", default="data", show_envvar=True,
              type=click.Path(file_okay=False, path_type=Path), help=DATA_HELP)
@click.option("--name", required=True, help="The EPN's name, as visitors know it.")
@click.option("--commune", default="", help="Municipality: NIS code, or French or Dutch name.")
@click.option("--postal-code", default="", help="4-digit postal code.")
@click.option("--computers", type=click.IntRange(0, 500), default=None, help="Computers for visitors.")
def init(data_dir: Path, name: str, commune: str, postal_code: str, computers: int | None) -> None:
    """Create (or update) a data directory: settings, secret key, database."""
    site: dict[str, Any] = {"name": name}
    if commune:
        site["commune"] = commune
    if postal_code:
        site["postal_code"] = postal_code
    if computers is not None:
        site["computers"] = computers
    try:
        # Validate in a scratch directory first: a typo leaves no half-made data directory.
        checked = _validate_site(site)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if commune:
        site["commune"] = checked.commune
    data_dir.mkdir(parents=True, exist_ok=True)
    write_config_file(data_dir, {"site": site})
    config = open_data(data_dir, must_exist=False)
    from appliance.federation.keys import ensure_key, fingerprint, public_bytes

    key = ensure_key(config.data_dir)
    click.echo(f"Appliance data ready for {config.site.name!r}.")
    click.echo(f"Report signing key fingerprint: {fingerprint(public_bytes(key))}")
    click.echo(str(config.data_dir))


def _validate_site(site: dict[str, Any]) -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        return load_config(Path(scratch), overrides={"site": site}, environ={}).site


@cli.command()
@data_option
@click.option("--host", default=None, help="Address to listen on (default: server.host).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: server.port).")
@click.option("--workers", type=click.IntRange(1, 16), default=None, help="Worker processes.")
def serve(config: Config, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the web app with gunicorn (production settings)."""
    from appliance.server import run_server

    run_server(config, host or config.server.host, port or config.server.port,
               workers or config.server.workers)


@cli.command()
@data_option
def worker(config: Config) -> None:
    """Run the task worker (periodic purge of expired personal data, and more)."""
    from appliance.taskqueue import bind_queue, huey

    setup_logging(config)
    bind_queue(config)
    import appliance.tasks  # noqa: F401  (registers the tasks)

    huey.create_consumer(workers=1, worker_type="thread", periodic=True).run()


@cli.command()
@click.option("--data", "data_dir", envvar="EPN_DATA", default="demo-data", show_envvar=True,
              type=click.Path(file_okay=False, path_type=Path), help="The demo's data directory.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--hub-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also run a demo hub with its data here, and two more appliances, all enrolled.")
@click.option("--hub-port", type=click.IntRange(1, 65535), default=8090, show_default=True)
@click.option("--no-serve", is_flag=True, help="Only create the demo data (and push the reports).")
def demo(data_dir: Path, host: str, port: int, hub_data: Path | None, hub_port: int,
         no_serve: bool) -> None:
    """Create a demo EPN (once) and serve it: staff logins are printed."""
    from appliance.demo import DEMO_ACCOUNTS, seed_demo

    created = seed_demo(data_dir)
    config = open_data(data_dir)
    click.echo(("Demo data created in " if created else "Demo data already in ") + str(config.data_dir))
    hub = None
    if hub_data is not None:
        from appliance.demo_federation import run_federation_demo

        click.echo(f"Demo hub on http://localhost:{hub_port}/ with three enrolled appliances:")
        try:
            hub, token = run_federation_demo(config.data_dir, hub_data.resolve(), hub_port)
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"  merged figures: curl -H 'Authorization: Bearer {token}' "
                   f"'http://localhost:{hub_port}/api/v1/figures?period=<a closed week, e.g. 2026-W46>'")
    click.echo(f"Appliance: http://localhost:{port}/staff/  (visitor page: http://localhost:{port}/)")
    for username, password, role in DEMO_ACCOUNTS:
        click.echo(f"  staff login ({role}): {username} / {password}")
    try:
        if not no_serve:
            from appliance.server import run_server

            open_data(data_dir)
            run_server(config, host, port, config.server.workers)
    finally:
        if hub is not None:
            hub.terminate()
            hub.wait(timeout=20)


@cli.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@data_option
@click.argument("username")
@click.option("--role", type=click.Choice(["mediator", "coordinator"]), required=True)
@click.option("--display-name", default="", help="Name shown to colleagues (default: username).")
@fail_on_invalid
def user_add(config: Config, username: str, role: str, display_name: str) -> None:
    """Add a staff account; the password is read from stdin when it is not a terminal."""
    from appliance.accounts import create_user

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    created = create_user(username, password, role, display_name)
    click.echo(f"Staff account created ({created.role}).")
    click.echo(created.username)


@cli.group()
def token() -> None:
    """API tokens for /api/v1/."""


@token.command("add")
@data_option
@click.option("--name", required=True, help="What the token is for (e.g. 'kiosk').")
@fail_on_invalid
def token_add(config: Config, name: str) -> None:
    """Create an API token; it is shown once, on the last line."""
    from appliance.accounts import create_token

    secret = create_token(name)
    click.echo("API token created; store it now, it is not shown again:")
    click.echo(secret)


@cli.group("import")
def import_() -> None:
    """Import data kept elsewhere."""


@import_.command("visits")
@data_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_visits(config: Config, file: Path) -> None:
    """Import past daily tallies from a CSV file (date,purpose,count)."""
    from datetime import datetime

    from appliance.desk.tallies import TallyFileError, import_tallies, parse_tallies

    if file.stat().st_size > 20 * 1024 * 1024:
        raise click.ClickException(f"{file}: too large for a tally file (over 20 MB)")
    try:
        tallies = parse_tallies(file.read_bytes(), datetime.now(config.tz).date())
    except TallyFileError as problem:
        for error in problem.errors[1:]:
            click.echo(f"{file}: {error}", err=True)
        raise click.ClickException(f"{file}: {problem.errors[0]}; nothing imported") from None
    total = import_tallies(tallies)
    click.echo(f"Imported {total} visits from {len(tallies)} rows.")
    click.echo(str(total))


@cli.command()
@data_option
def purge(config: Config) -> None:
    """Delete now the personal data whose retention period is over."""
    from datetime import datetime

    from appliance.members import purge_expired

    counts = purge_expired(datetime.now(config.tz).date(), config.retention)
    for key, value in sorted(counts.items()):
        click.echo(f"{key}: {value}")


from appliance.federation.cli import enrol, key, push, report  # noqa: E402  (needs data_option above)

for _command in (enrol, report, push, key):
    cli.add_command(_command)

from appliance.federation.hub.cli import hub as _hub_group; cli.add_command(_hub_group)  # noqa: E402, E702

from appliance.printing.cli import printing as _printing; cli.add_command(_printing)  # noqa: E402, E702
from appliance.wifi.cli import wifi as _wifi_group; cli.add_command(_wifi_group)  # noqa: E402, E702
from appliance.lending.cli import lending as _lending; cli.add_command(_lending)  # noqa: E402, E702
from appliance.setup.cli import setup as _setup_group; cli.add_command(_setup_group)  # noqa: E402, E702
from appliance.update.cli import update as _update; cli.add_command(_update)  # noqa: E402, E702


def _read_passphrase(passphrase_file: Path | None, confirm: bool) -> str:
    """The backup passphrase: from a file, from stdin when it is not a terminal, else asked."""
    if passphrase_file is not None:
        text = passphrase_file.read_text(encoding="utf-8").splitlines()
        passphrase = text[0] if text else ""
    elif sys.stdin.isatty():
        passphrase = click.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm)
    else:
        passphrase = sys.stdin.readline().rstrip("\r\n")
    if not passphrase:
        raise click.ClickException("an empty passphrase is not allowed")
    return passphrase


PASSPHRASE_FILE = click.option(
    "--passphrase-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Read the passphrase from the first line of this file (default: stdin, or asked).")


@cli.command()
@data_option
@click.argument("path", type=click.Path(path_type=Path))
@PASSPHRASE_FILE
def backup(config: Config, path: Path, passphrase_file: Path | None) -> None:
    """Write an encrypted backup of the data directory to PATH (a file, or a folder).

    Safe while `epn serve` and `epn worker` run. Keep the passphrase elsewhere: without
    it the backup cannot be read.
    """
    import time

    from appliance.backup import BackupError, create_backup

    passphrase = _read_passphrase(passphrase_file, confirm=True)
    started = time.monotonic()
    try:
        manifest = create_backup(config, path, passphrase)
    except (BackupError, OSError) as error:
        raise click.ClickException(str(error)) from None
    size = Path(manifest["path"]).stat().st_size
    click.echo(f"Backup of schema version {manifest['schema_version']} written "
               f"({size} bytes, {time.monotonic() - started:.1f} s).")
    click.echo(manifest["path"])


@cli.command()
@click.option("--data", "data_dir", envvar="EPN_DATA", default="data", show_envvar=True,
              type=click.Path(file_okay=False, path_type=Path), help=DATA_HELP)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@PASSPHRASE_FILE
@click.option("--keep-config", is_flag=True,
              help="Keep the existing config.yaml, secret key and signing key.")
def restore(data_dir: Path, path: Path, passphrase_file: Path | None, keep_config: bool) -> None:
    """Restore a backup into the data directory; stop `epn serve` and `epn worker` first.

    The current database is kept as epn.sqlite3.before-restore; members erased since
    the backup are erased again.
    """
    from appliance.backup import BackupError, restore_backup

    passphrase = _read_passphrase(passphrase_file, confirm=False)
    try:
        result = restore_backup(data_dir, path, passphrase, keep_config=keep_config)
    except (BackupError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored the backup of {result.backup_time:%Y-%m-%d %H:%M} UTC "
               f"(schema {result.schema_from} -> {result.schema_to}).")
    for table, count in result.rows.items():
        click.echo(f"{table}: {count}")
    click.echo(f"erasures since the backup copied: {result.erasures_copied}")
    click.echo(f"members erased again: {result.members_erased_again}")
    if result.files_restored:
        click.echo("files restored: " + ", ".join(result.files_restored))
    if result.files_kept:
        click.echo("files kept: " + ", ".join(result.files_kept))
    from appliance.setup.cli import close_setup
    from appliance.setup.state import is_pending

    if not keep_config and is_pending(data_dir):
        # The backup brings a configured EPN: a new SD card's first-boot wizard is not needed.
        close_setup(data_dir, restored=True)
        click.echo("first-boot setup closed: the backup's settings are used")
    click.echo(str(data_dir.resolve()))


if __name__ == "__main__":
    main()
