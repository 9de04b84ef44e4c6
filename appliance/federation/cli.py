"""The appliance side of the federation on the command line:
`epn enrol`, `epn report build`, `epn push`, `epn key rotate`.

Registered in `appliance/cli.py`. Errors are one line; a command that creates something
prints its identifier last (the EPN id, the report id, the new key id).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import click

from appliance.cli import data_option
from appliance.config import Config


def federation_errors(command: Callable) -> Callable:
    """Turn a FederationError into a one-line error and exit status 1."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from appliance.federation.link import FederationError

        try:
            return command(*args, **kwargs)
        except FederationError as error:
            raise click.ClickException(str(error)) from None

    return wrapped


def _clock(config: Config, trust_clock: bool):  # type: ignore[no-untyped-def]
    """The clock to check: trusted on request, else the one given by a test through
    `obj={"clock": ...}`, else the configured one."""
    from appliance.hardware.clock import FakeClock, clock_for

    if trust_clock:
        return FakeClock(True, "--trust-clock")
    context = click.get_current_context()
    if isinstance(context.obj, dict) and "clock" in context.obj:
        return context.obj["clock"]
    return clock_for(config)


# An enrolment token is URL-safe base64 and may start with "-": it must not be read as an
# option (hence no -h here, and unknown "options" taken as arguments).
@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]})
@data_option
@click.argument("hub_url")
@click.argument("token")
@click.option("--new-key", is_flag=True, help="Make and enrol a new signing key (after the hub revoked the old one).")
@federation_errors
def enrol(config: Config, hub_url: str, token: str, new_key: bool) -> None:
    """Enrol this appliance with the hub at HUB_URL, using the one-time TOKEN it gave.

    Compare the two fingerprints printed with the one the hub shows.
    """
    from appliance.federation.enrol import enrol as enrol_with_hub

    done = enrol_with_hub(config, hub_url, token, new_key=new_key)
    click.echo(f"Enrolled with hub {done.hub!r} as EPN {done.epn!r}.")
    click.echo(f"Key fingerprint registered by the hub: {done.hub_fingerprint}")
    click.echo(f"Key fingerprint of this appliance:     {done.local_fingerprint}")
    if done.superseded:
        click.echo(f"{done.superseded} report(s) made for the earlier enrolment will not be sent; "
                   "their periods are built again.")
    click.echo(f"Next report sequence: {done.next_sequence}")
    click.echo(done.epn)


@click.group()
def report() -> None:
    """Reports to the hub."""


def _periods(period: str | None, first: str | None, last: str | None) -> list:  # type: ignore[type-arg]
    from appliance.period import Period

    if period and (first or last):
        raise click.UsageError("give either --period, or --from and --to")
    try:
        if period:
            return [Period.parse(period)]
        if first and last:
            return Period.range(first, last)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    raise click.UsageError("give --period P, or --from P --to P")


@report.command("build")
@data_option
@click.option("--period", default=None, help="One period: 2026-W47, 2026-11 or 2026.")
@click.option("--from", "first", default=None, help="First period of a range.")
@click.option("--to", "last", default=None, help="Last period of the range (same kind).")
@click.option("--trust-clock", is_flag=True, help="Build even if the clock is not known to be synchronised.")
@click.option("--force", is_flag=True, help="Queue a new report even if the figures did not change.")
@federation_errors
def report_build(config: Config, period: str | None, first: str | None, last: str | None,
                 trust_clock: bool, force: bool) -> None:
    """Build, sign and queue the report of closed periods now. A period whose figures did
    not change since its last report is left as it is (unless the hub refused that one).
    The last report id is printed last."""
    from appliance.federation.link import current_link
    from appliance.federation.outbox import latest_report
    from appliance.federation.report import build_report

    clock = _clock(config, trust_clock)
    last_id = ""
    for chosen in _periods(period, first, last):
        body = build_report(chosen, config, clock=clock, if_changed=not force, retry_refused=True)
        if body is None:
            row = latest_report(str(chosen), current_link().first_sequence)
            assert row is not None
            click.echo(f"{chosen}: unchanged since report {row.sequence}; nothing queued")
            last_id = row.report_id
        else:
            click.echo(f"{chosen}: report {body['sequence']} queued ({len(body['figures'])} figures)")
            last_id = body["report_id"]
    click.echo(last_id)


@click.command()
@data_option
@federation_errors
def push(config: Config) -> None:
    """Push the reports waiting in the outbox to the hub now (one line says what happened)."""
    from appliance.federation.push import push_outbox

    summary = push_outbox(config, force=True)
    if not summary.ok:
        raise click.ClickException(summary.line())
    click.echo(summary.line())


@click.group()
def key() -> None:
    """The appliance's report signing key."""


@key.command("rotate")
@data_option
@federation_errors
def key_rotate(config: Config) -> None:
    """Make a new signing key, have the hub accept it (signed by old and new), switch."""
    from appliance.federation.enrol import rotate_key

    done = rotate_key(config)
    click.echo(f"The hub accepts the new key; key {done.old_key_id} is retired.")
    click.echo(f"New key fingerprint: {done.new_fingerprint}")
    click.echo(done.new_key_id)
