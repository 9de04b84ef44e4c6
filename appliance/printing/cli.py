"""`epn printing ...`: the periodic sync by hand, and the printers as CUPS sees them."""

from __future__ import annotations

from datetime import datetime

import click

from appliance.cli import data_option
from appliance.config import Config


@click.group()
def printing() -> None:
    """Printing through CUPS, with quotas."""


@printing.command("sync")
@data_option
def sync_command(config: Config) -> None:
    """Find new held jobs, charge completed ones, refund failed ones, expire old ones."""
    from appliance.db import database
    from appliance.hardware.printing import PrintSystemError, print_system_for
    from appliance.printing.jobs import sync

    now = datetime.now(config.tz).replace(tzinfo=None)
    try:
        with database.connection_context():
            counts = sync(print_system_for(config), config, now)
    except PrintSystemError as error:
        raise click.ClickException(str(error)) from None
    click.echo(" ".join(f"{key}={value}" for key, value in counts.items()))


@printing.command("printers")
@data_option
def printers_command(config: Config) -> None:
    """List the printers: name, state, accepting jobs, reasons."""
    from appliance.hardware.printing import PrintSystemError, print_system_for
    from appliance.printing.printers import status_of

    try:
        printers = print_system_for(config).list_printers()
    except PrintSystemError as error:
        raise click.ClickException(str(error)) from None
    for printer in printers:
        click.echo(f"{printer.name}\t{status_of(printer)}\t{','.join(printer.reasons) or '-'}")
