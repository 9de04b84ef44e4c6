"""The printers, as staff see them: state, pause and resume, adding one by its URI."""

from __future__ import annotations

import logging

from appliance.config import Config
from appliance.errors import N_, InvalidInput
from appliance.hardware.printing import Printer, PrintSystem, PrintSystemError, check_printer_name, check_uri

log = logging.getLogger("appliance.printing")


def status_of(printer: Printer) -> str:
    """idle | printing | stopped | no_paper: what the printers page shows."""
    if printer.out_of_paper:
        return "no_paper"
    if not printer.accepting:
        return "stopped"
    return printer.state


def list_printers(system: PrintSystem) -> list[Printer] | None:
    """The printers, or None when CUPS cannot be reached."""
    try:
        return system.list_printers()
    except PrintSystemError as error:
        log.warning("printers not listed: %s", error)
        return None


def _known(system: PrintSystem, name: str) -> str:
    if system.printer(name) is None:
        raise InvalidInput("printer", N_("The printer %(name)s is not available."), name=name[:60])
    return name


def pause(system: PrintSystem, name: str) -> None:
    try:
        system.pause(_known(system, name), "paused-by-staff")
    except PrintSystemError as error:
        log.warning("pause failed: %s", error)
        raise InvalidInput("printer", N_("CUPS refused: %(reason)s"), reason=str(error)[:120]) from None


def resume(system: PrintSystem, name: str) -> None:
    try:
        system.resume(_known(system, name))
    except PrintSystemError as error:
        log.warning("resume failed: %s", error)
        raise InvalidInput("printer", N_("CUPS refused: %(reason)s"), reason=str(error)[:120]) from None


def add_printer(system: PrintSystem, config: Config, name: str, uri: str) -> None:
    """Add a network printer as a public (held) queue; the coordinator lists it in
    printing.public_queues when the EPN names its public queues."""
    name, uri = name.strip(), uri.strip()
    try:
        check_printer_name(name)
    except ValueError:
        raise InvalidInput("name", N_("A printer name is 1 to 60 letters, digits, - or _.")) from None
    try:
        check_uri(uri)
    except ValueError:
        raise InvalidInput("uri", N_(
            "Give an address such as ipp://192.168.1.20/ipp/print or socket://192.168.1.20:9100.")) from None
    if system.printer(name) is not None:
        raise InvalidInput("name", N_("A printer with this name exists already."))
    try:
        system.add_printer(name, uri, config.printing.driver, hold=True)
    except PrintSystemError as error:
        log.warning("printer not added: %s", error)
        raise InvalidInput("uri", N_("CUPS refused: %(reason)s"), reason=str(error)[:120]) from None
