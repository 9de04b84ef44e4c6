"""`epn setup start|code|status`: the first-boot setup, for the image and its boot units.

    epn setup start --data DIR        # at image build: an appliance data dir, setup pending
    epn setup code --data DIR --issue-file /run/issue.d/epn-setup.issue   # at each boot
    epn setup status --data DIR       # pending | done
    epn setup skip --data DIR         # done without the wizard (after `epn restore`)

Registered in `appliance/cli.py`.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import click

from appliance.cli import DATA_HELP, open_data
from appliance.config import CONFIG_FILE, SECRET_FILE, write_config_file
from appliance.setup.code import SetupDone, make_code
from appliance.setup.draft import PLACEHOLDER_NAME
from appliance.setup.finish import remove_issue_file
from appliance.setup.state import DONE, PENDING, SETUP_DIR, changing_state, status

DATA_OPTION = click.option("--data", "data_dir", envvar="EPN_DATA", default="data", show_envvar=True,
                           type=click.Path(file_okay=False, path_type=Path), help=DATA_HELP)


@click.group()
def setup() -> None:
    """The first-boot setup in the browser, unlocked by a code shown on the console."""


@setup.command()
@DATA_OPTION
def start(data_dir: Path) -> None:
    """Make DIR an appliance data directory if needed and mark the setup pending."""
    if not (data_dir / "epn.sqlite3").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        if not (data_dir / CONFIG_FILE).exists():
            write_config_file(data_dir, {"site": {"name": PLACEHOLDER_NAME}})
    config = open_data(data_dir, must_exist=False)
    from appliance.federation.keys import ensure_key

    ensure_key(config.data_dir)
    with changing_state(config.data_dir) as state:
        if state.get("status") != DONE:
            state["status"] = PENDING
    _give_to_owner(config.data_dir)
    click.echo(str(config.data_dir))
    click.echo("setup pending" if status(config.data_dir) == PENDING else "setup already done")


@setup.command()
@DATA_OPTION
@click.option("--issue-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the message for the console's login screen here (agetty issue file).")
def code(data_dir: Path, issue_file: Path | None) -> None:
    """Make a new one-time setup code (the previous one stops working) and print it."""
    config = open_data(data_dir)
    try:
        shown = make_code(config.data_dir)
    except SetupDone:
        if issue_file is not None:
            remove_issue_file(issue_file)
        click.echo("setup already done")
        return
    url = _setup_url(config.server.port)
    if issue_file is not None:
        _write_issue(issue_file, config.server.port, shown)
        with changing_state(config.data_dir) as state:
            state["issue_file"] = str(issue_file.resolve())
    _give_to_owner(config.data_dir)
    click.echo("EPN first-boot setup / Première configuration / Eerste configuratie:")
    click.echo(f"open {url} in a browser and type this code:")
    click.echo(shown)


@setup.command()
@DATA_OPTION
@click.option("--issue-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The console message to remove (as given to `epn setup code`).")
def skip(data_dir: Path, issue_file: Path | None) -> None:
    """Mark the setup done without the wizard, e.g. after `epn restore` on a new SD card."""
    config = open_data(data_dir)
    close_setup(config.data_dir, issue_file)
    click.echo("setup done")


def close_setup(data_dir: Path, issue_file: Path | None = None, **reason: bool) -> None:
    """Mark the first-boot setup done without the wizard (and drop its code and answers)."""
    with changing_state(data_dir) as state:
        recorded = state.get("issue_file")
        state.clear()
        state.update(status=DONE, **(reason or {"skipped": True}))
    for path in {issue_file, Path(recorded) if recorded else None} - {None}:
        remove_issue_file(path)


@setup.command(name="status")
@DATA_OPTION
def status_command(data_dir: Path) -> None:
    """Print `pending` or `done`."""
    if not (data_dir / "epn.sqlite3").exists():
        raise click.ClickException(f"{data_dir}: no appliance data here")
    click.echo(status(data_dir))


def _port_suffix(port: int) -> str:
    return "" if port == 80 else f":{port}"


def _setup_url(port: int) -> str:
    """The address to open, as far as this machine knows its own (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
    except OSError:
        address = socket.gethostname()
    return f"http://{address}{_port_suffix(port)}/setup/"


def _write_issue(path: Path, port: int, shown: str) -> None:
    r"""agetty fills in \4 with the current IPv4 address when it shows the login screen."""
    text = (
        "\n  EPN: first-boot setup / Première configuration / Eerste configuratie\n"
        f"  Open http://\\4{_port_suffix(port)}/setup/ in a browser and type the code:\n"
        f"  Ouvrez http://\\4{_port_suffix(port)}/setup/ dans un navigateur et tapez le code :\n"
        f"  Open http://\\4{_port_suffix(port)}/setup/ in een browser en typ de code:\n\n"
        f"      {shown}\n\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o644)
    os.replace(temporary, path)


def _give_to_owner(data_dir: Path) -> None:
    """Run as root (a boot unit, an image build), leave the files to the data
    directory's owner, the service account that serves the wizard."""
    if os.geteuid() != 0:
        return
    owner = data_dir.stat()
    if owner.st_uid == 0:
        return
    names = [CONFIG_FILE, SECRET_FILE, "epn.sqlite3", "epn.sqlite3-wal", "epn.sqlite3-shm", "keys", SETUP_DIR]
    for name in names:
        path = data_dir / name
        for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
            if item.exists() and item.stat().st_uid == 0:
                os.chown(item, owner.st_uid, owner.st_gid)

