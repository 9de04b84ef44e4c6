"""`epn wifi ...`: render the network configuration, load the firewall and restore the
sessions at boot, keep the sessions' counters and retention up to date, and vouchers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from appliance.cli import data_option, fail_on_invalid
from appliance.config import Config


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _firewall_call(action):  # type: ignore[no-untyped-def]
    from appliance.hardware.firewall import FirewallError

    try:
        return action()
    except FirewallError as error:
        raise click.ClickException(f"firewall: {error} (the nft backend needs root or CAP_NET_ADMIN)") from None


@click.group()
def wifi() -> None:
    """The visitors' Wi-Fi and captive portal."""


@wifi.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@data_option
def render(config: Config, directory: Path) -> None:
    """Write hostapd.conf, dnsmasq.conf and portal.nft into DIRECTORY."""
    from appliance.hardware.network import render_all

    for path in render_all(config, directory):
        click.echo(str(path))


@wifi.command()
@data_option
def up(config: Config) -> None:
    """Load the nftables ruleset, then restore the sessions still valid (at boot)."""
    from appliance.db import database
    from appliance.hardware.firewall import firewall_for, ruleset_for
    from appliance.wifi.sessions import restore

    firewall = firewall_for(config)
    _firewall_call(lambda: firewall.load(ruleset_for(config)))
    with database.connection_context():
        count = _firewall_call(lambda: restore(_now(), firewall))
    click.echo(f"ruleset loaded; sessions restored: {count}")


@wifi.command(name="restore")
@data_option
def restore_command(config: Config) -> None:
    """Give the sessions still valid their access back (the ruleset is loaded already)."""
    from appliance.db import database
    from appliance.hardware.firewall import firewall_for
    from appliance.wifi.sessions import restore

    with database.connection_context():
        count = _firewall_call(lambda: restore(_now(), firewall_for(config)))
    click.echo(f"sessions restored: {count}")


@wifi.command()
@data_option
def refresh(config: Config) -> None:
    """Read the counters, close expired and over-quota sessions, erase old addresses."""
    from appliance.db import database
    from appliance.hardware.firewall import firewall_for
    from appliance.wifi import purge_addresses
    from appliance.wifi.sessions import refresh as refresh_sessions

    with database.connection_context():
        counts = _firewall_call(lambda: refresh_sessions(_now(), config.wifi, firewall_for(config)))
        counts["addresses_erased"] = purge_addresses(_now(), config.wifi)
    click.echo(", ".join(f"{key}={value}" for key, value in sorted(counts.items())))


@wifi.group()
def voucher() -> None:
    """Wi-Fi vouchers."""


@voucher.command(name="add")
@click.option("--count", type=int, default=1, show_default=True, help="How many codes.")
@click.option("--minutes", type=int, default=180, show_default=True, help="Minutes of internet per code.")
@click.option("--uses", type=int, default=1, show_default=True, help="Devices per code.")
@click.option("--batch", default="", help="What the sheet is for (e.g. a workshop).")
@data_option
@fail_on_invalid
def voucher_add(config: Config, count: int, minutes: int, uses: int, batch: str) -> None:
    """Create vouchers; prints one code a line."""
    from appliance.db import database
    from appliance.wifi.vouchers import create_vouchers

    with database.connection_context():
        made = create_vouchers(count, minutes, batch, uses)
    for item in made:
        click.echo(item.code)


@voucher.command(name="revoke")
@click.argument("code")
@data_option
@fail_on_invalid
def voucher_revoke(config: Config, code: str) -> None:
    """Revoke a voucher and end the sessions it opened."""
    from appliance.db import database
    from appliance.hardware.firewall import firewall_for
    from appliance.wifi.sessions import revoke_voucher_sessions
    from appliance.wifi.vouchers import revoke_voucher

    with database.connection_context():
        revoked = revoke_voucher(code, _now())
        ended = _firewall_call(lambda: revoke_voucher_sessions(revoked, _now(), firewall_for(config)))
    click.echo(f"revoked; sessions ended: {ended}")


@wifi.command()
@click.argument("state", type=click.Choice(["on", "off"]))
@data_option
def pause(config: Config, state: str) -> None:
    """Pause the visitors' Wi-Fi (on), e.g. during an exam, or end the pause (off)."""
    from appliance.db import database
    from appliance.hardware.firewall import firewall_for
    from appliance.wifi.sessions import pause as pause_wifi

    with database.connection_context():
        _firewall_call(lambda: pause_wifi(state == "on", _now(), firewall_for(config)))
    click.echo("paused" if state == "on" else "on")
