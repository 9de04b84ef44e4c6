"""`epn lending ...`: the laptop-thèque's inventory from and to a CSV file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from appliance.cli import data_option
from appliance.config import Config


@click.group()
def lending() -> None:
    """The laptop-thèque: devices lent to visitors."""


@lending.command("import")
@data_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(config: Config, file: Path) -> None:
    """Import the inventory from a CSV file (tag,kind,model,serial,accessories,...).

    A known tag is updated; a file with one bad row imports nothing."""
    from appliance.db import database
    from appliance.lending.inventory import InventoryFileError, import_inventory, parse_inventory

    if file.stat().st_size > 5 * 1024 * 1024:
        raise click.ClickException(f"{file}: too large for an inventory (over 5 MB)")
    with database.connection_context():
        try:
            rows = parse_inventory(file.read_bytes(), config.lending.ownership_years)
        except InventoryFileError as problem:
            for error in problem.errors[1:]:
                click.echo(f"{file}: {error}", err=True)
            raise click.ClickException(f"{file}: {problem.errors[0]}; nothing imported") from None
        added, updated = import_inventory(rows)
    click.echo(f"Imported {len(rows)} devices: {added} added, {updated} updated.")
    click.echo(str(len(rows)))


@lending.command("export")
@data_option
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def export_command(config: Config, file: Path | None) -> None:
    """Write the inventory as CSV to FILE (or to standard output)."""
    from appliance.db import database
    from appliance.lending.inventory import export_inventory

    with database.connection_context():
        text = export_inventory()
    if file is None:
        sys.stdout.write(text)
    else:
        file.write_text(text, encoding="utf-8")
        click.echo(str(file))
