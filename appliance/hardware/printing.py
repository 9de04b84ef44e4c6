"""The printers: CUPS on the appliance itself, or an in-memory (or file-backed) fake.

`PrintSystem` is the interface the printing domain uses. `CupsPrintSystem` reads states
through IPP (numbers, not localised text) and acts through CUPS's command-line tools,
which authenticate locally for administrative operations. `FakePrintSystem` keeps the
same states in memory, or in a JSON file when several processes share it (the demo).
`print_system_for(config)` picks one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol

from appliance.hardware.printing_ipp import (
    BOOLEAN,
    CUPS_GET_DOCUMENT,
    CUPS_GET_PRINTERS,
    GET_JOB_ATTRIBUTES,
    GET_JOBS,
    INTEGER,
    KEYWORD,
    NAME,
    URI,
    IppClient,
    IppError,
)

if TYPE_CHECKING:
    from appliance.config import Config

# IPP job-state values.
PENDING, HELD, PROCESSING, STOPPED, CANCELED, ABORTED, COMPLETED = 3, 4, 5, 6, 7, 8, 9
FINISHED = {CANCELED, ABORTED, COMPLETED}
PRINTER_STATES = {3: "idle", 4: "printing", 5: "stopped"}
PRINTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
URI_SCHEMES = ("ipp", "ipps", "http", "https", "socket", "lpd", "usb", "dnssd", "file")
JOB_ATTRIBUTES = [
    "job-id", "job-name", "job-state", "job-printer-uri", "job-originating-user-name",
    "job-originating-host-name", "time-at-creation", "copies", "sides", "print-color-mode",
]


class PrintSystemError(Exception):
    """CUPS refused or could not be reached; the message is for the log and the operator."""


@dataclass(frozen=True)
class Printer:
    name: str
    state: str  # idle | printing | stopped
    accepting: bool
    reasons: tuple[str, ...] = ()  # IPP printer-state-reasons, e.g. media-empty
    uri: str = ""
    colour: bool = False

    @property
    def out_of_paper(self) -> bool:
        return any(reason.startswith("media-empty") or reason.startswith("media-needed")
                   for reason in self.reasons)


@dataclass(frozen=True)
class CupsJob:
    job_id: int
    printer: str
    title: str
    owner: str
    host: str  # job-originating-host-name: the computer it came from
    state: int  # IPP job-state
    submitted_at: datetime  # naive UTC
    copies: int = 1
    sides: str = "one-sided"
    colour_mode: str = ""  # print-color-mode as asked for, if any


class PrintSystem(Protocol):
    def list_printers(self) -> list[Printer]: ...
    def printer(self, name: str) -> Printer | None: ...
    def held_jobs(self) -> list[CupsJob]: ...
    def job(self, job_id: int) -> CupsJob | None: ...
    def document(self, job_id: int) -> bytes: ...
    def submit(self, printer: str, path: Path, title: str, copies: int = 1,
               options: dict[str, str] | None = None, hold: bool = True) -> int: ...
    def release(self, job_id: int) -> None: ...
    def cancel(self, job_id: int) -> None: ...
    def pause(self, printer: str, reason: str = "") -> None: ...
    def resume(self, printer: str) -> None: ...
    def add_printer(self, name: str, uri: str, driver: str, hold: bool = True) -> None: ...


def check_printer_name(name: str) -> str:
    if not PRINTER_NAME.match(name or ""):
        raise ValueError("a printer name is 1 to 60 letters, digits, - or _")
    return name


def check_uri(uri: str) -> str:
    scheme, _, rest = (uri or "").partition("://")
    if scheme not in URI_SCHEMES or not rest or len(uri) > 255 or any(c.isspace() for c in uri):
        raise ValueError("a device URI such as ipp://192.168.1.20/ipp/print or socket://printer:9100")
    return uri


def _list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _job_from_ipp(attributes: dict) -> CupsJob:
    created = attributes.get("time-at-creation") or 0
    printer_uri = str(attributes.get("job-printer-uri") or "")
    return CupsJob(
        job_id=int(attributes["job-id"]),
        printer=printer_uri.rsplit("/", 1)[-1],
        title=str(attributes.get("job-name") or ""),
        owner=str(attributes.get("job-originating-user-name") or ""),
        host=str(attributes.get("job-originating-host-name") or ""),
        state=int(attributes.get("job-state") or 0),
        submitted_at=datetime.fromtimestamp(int(created), timezone.utc).replace(tzinfo=None),
        copies=int(attributes.get("copies") or 1),
        sides=str(attributes.get("sides") or "one-sided"),
        colour_mode=str(attributes.get("print-color-mode") or ""),
    )


class CupsPrintSystem:
    """The CUPS server at `server` (host:port or a socket path; empty: the default)."""

    def __init__(self, server: str = "", timeout: float = 10.0) -> None:
        self.server = server or os.environ.get("CUPS_SERVER", "") or "/run/cups/cups.sock"
        self.timeout = timeout
        self.ipp = IppClient(self.server, timeout)

    # --- Reading, through IPP ----------------------------------------------------------

    def list_printers(self) -> list[Printer]:
        groups, _ = self._ipp(CUPS_GET_PRINTERS, [(KEYWORD, "requested-attributes", [
            "printer-name", "printer-state", "printer-state-reasons",
            "printer-is-accepting-jobs", "device-uri", "color-supported"])])
        printers = []
        for tag, attributes in groups:
            if "printer-name" not in attributes:
                continue
            reasons = tuple(r for r in _list(attributes.get("printer-state-reasons")) if r and r != "none")
            printers.append(Printer(
                name=str(attributes["printer-name"]),
                state=PRINTER_STATES.get(int(attributes.get("printer-state") or 3), "idle"),
                accepting=bool(attributes.get("printer-is-accepting-jobs", True)),
                reasons=reasons,
                uri=str(attributes.get("device-uri") or ""),
                colour=bool(attributes.get("color-supported", False)),
            ))
        return sorted(printers, key=lambda p: p.name)

    def printer(self, name: str) -> Printer | None:
        return next((p for p in self.list_printers() if p.name == name), None)

    def held_jobs(self) -> list[CupsJob]:
        groups, _ = self._ipp(GET_JOBS, [
            (URI, "printer-uri", self.ipp.printer_uri()),
            (NAME, "requesting-user-name", "root"),
            (KEYWORD, "which-jobs", "not-completed"),
            (BOOLEAN, "my-jobs", False),
            (KEYWORD, "requested-attributes", JOB_ATTRIBUTES),
        ])
        jobs = [_job_from_ipp(a) for _, a in groups if "job-id" in a]
        return [job for job in jobs if job.state == HELD]

    def job(self, job_id: int) -> CupsJob | None:
        try:
            groups, _ = self._ipp(GET_JOB_ATTRIBUTES, [
                (URI, "printer-uri", self.ipp.printer_uri()),
                (INTEGER, "job-id", job_id),
                (NAME, "requesting-user-name", "root"),
                (KEYWORD, "requested-attributes", JOB_ATTRIBUTES),
            ])
        except PrintSystemError as error:
            if getattr(error.__cause__, "status", None) == 0x0406:  # client-error-not-found
                return None
            raise
        found = [a for _, a in groups if "job-id" in a]
        return _job_from_ipp(found[0]) if found else None

    def document(self, job_id: int) -> bytes:
        """The job's first document as CUPS spooled it (to count its pages)."""
        _, data = self._ipp(CUPS_GET_DOCUMENT, [
            (URI, "printer-uri", self.ipp.printer_uri()),
            (INTEGER, "job-id", job_id),
            (INTEGER, "document-number", 1),
            (NAME, "requesting-user-name", "root"),
        ])
        return data

    def _ipp(self, operation: int, attributes: list) -> tuple[list, bytes]:
        try:
            return self.ipp.request(operation, attributes)
        except IppError as error:
            raise PrintSystemError(str(error)) from error

    # --- Acting, through the CUPS tools ------------------------------------------------

    def _run(self, *args: str) -> str:
        env = {**os.environ, "CUPS_SERVER": self.server, "LC_ALL": "C"}
        try:
            done = subprocess.run(list(args), capture_output=True, text=True, env=env,
                                  timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PrintSystemError(f"{args[0]}: {error.__class__.__name__}") from None
        if done.returncode != 0:
            raise PrintSystemError(f"{args[0]}: {(done.stderr or done.stdout).strip()[:200]}")
        return done.stdout

    def submit(self, printer: str, path: Path, title: str, copies: int = 1,
               options: dict[str, str] | None = None, hold: bool = True) -> int:
        args = ["lp", "-d", check_printer_name(printer), "-t", title[:120] or "document",
                "-n", str(copies)]
        if hold:
            args += ["-H", "indefinite"]
        for key, value in (options or {}).items():
            args += ["-o", f"{key}={value}"]
        output = self._run(*args, "--", str(path))
        match = re.search(r"request id is \S+-(\d+)", output)
        if not match:
            raise PrintSystemError(f"lp: unexpected answer {output.strip()[:80]!r}")
        return int(match.group(1))

    def release(self, job_id: int) -> None:
        self._run("lp", "-i", str(job_id), "-H", "resume")

    def cancel(self, job_id: int) -> None:
        self._run("cancel", str(job_id))

    def pause(self, printer: str, reason: str = "") -> None:
        self._run("cupsdisable", *(["-r", reason] if reason else []), check_printer_name(printer))

    def resume(self, printer: str) -> None:
        self._run("cupsenable", check_printer_name(printer))
        self._run("cupsaccept", printer)

    def add_printer(self, name: str, uri: str, driver: str, hold: bool = True) -> None:
        """Add a queue; `driver` is a PPD file path or an lpadmin model (`everywhere`)."""
        model = ["-P", driver] if driver.startswith("/") else ["-m", driver]
        self._run("lpadmin", "-p", check_printer_name(name), "-E", "-v", check_uri(uri), *model)
        if hold:
            self._run("lpadmin", "-p", name, "-o", "job-hold-until-default=indefinite")


@dataclass
class _FakeState:
    printers: dict[str, dict] = field(default_factory=dict)
    jobs: dict[str, dict] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)  # job id -> file path
    next_id: int = 1


class FakePrintSystem:
    """CUPS's behaviour as far as the appliance sees it, without CUPS.

    A released job completes at once on an idle, enabled printer, stays pending on a
    paused one (and completes when it resumes), and aborts on a printer marked `broken`.
    With `path`, the state lives in a JSON file (locked), so several processes share it."""

    def __init__(self, path: Path | None = None, printers: tuple[str, ...] = ()) -> None:
        self.path = path
        self._memory = _FakeState()
        with self._state() as state:
            for name in printers:
                state.printers.setdefault(name, asdict(Printer(name, "idle", True, colour=False)))

    @contextmanager
    def _state(self) -> Iterator[_FakeState]:
        if self.path is None:
            yield self._memory
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = _FakeState(**json.loads(self.path.read_text())) if self.path.exists() else _FakeState()
            yield state
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(state), default=str))
            tmp.replace(self.path)

    def list_printers(self) -> list[Printer]:
        with self._state() as state:
            return [Printer(**{**p, "reasons": tuple(p["reasons"])}) for _, p in sorted(state.printers.items())]

    def printer(self, name: str) -> Printer | None:
        return next((p for p in self.list_printers() if p.name == name), None)

    @staticmethod
    def _job(data: dict) -> CupsJob:
        return CupsJob(**{**data, "submitted_at": datetime.fromisoformat(str(data["submitted_at"]))})

    def held_jobs(self) -> list[CupsJob]:
        with self._state() as state:
            return [self._job(j) for j in state.jobs.values() if j["state"] == HELD]

    def job(self, job_id: int) -> CupsJob | None:
        with self._state() as state:
            data = state.jobs.get(str(job_id))
            return self._job(data) if data else None

    def document(self, job_id: int) -> bytes:
        with self._state() as state:
            path = state.documents.get(str(job_id))
        if path is None or not Path(path).exists():
            raise PrintSystemError(f"job {job_id}: no document")
        return Path(path).read_bytes()

    def submit(self, printer: str, path: Path, title: str, copies: int = 1,
               options: dict[str, str] | None = None, hold: bool = True,
               host: str = "localhost", owner: str = "visitor") -> int:
        with self._state() as state:
            if printer not in state.printers:
                raise PrintSystemError(f"lp: the printer {printer} does not exist")
            job_id = state.next_id
            state.next_id += 1
            options = options or {}
            state.jobs[str(job_id)] = asdict(CupsJob(
                job_id, printer, title, owner, host, HELD if hold else PENDING,
                datetime.now(timezone.utc).replace(tzinfo=None), copies,
                options.get("sides", "one-sided"), options.get("print-color-mode", ""),
            ))
            state.documents[str(job_id)] = str(path)
            if not hold:
                self._advance(state, state.jobs[str(job_id)])
        return job_id

    @staticmethod
    def _advance(state: _FakeState, job: dict) -> None:
        printer = state.printers.get(job["printer"])
        if printer is None or "broken" in printer["reasons"]:
            job["state"] = ABORTED
        elif printer["state"] != "stopped":
            job["state"] = COMPLETED

    def _change(self, job_id: int, action: str) -> None:
        with self._state() as state:
            job = state.jobs.get(str(job_id))
            if job is None or job["state"] in FINISHED:
                raise PrintSystemError(f"job {job_id} does not exist or is finished")
            if action == "release":
                job["state"] = PENDING
                self._advance(state, job)
            else:
                job["state"] = CANCELED

    def release(self, job_id: int) -> None:
        self._change(job_id, "release")

    def cancel(self, job_id: int) -> None:
        self._change(job_id, "cancel")

    def _set_printer(self, name: str, **values: object) -> None:
        with self._state() as state:
            if name not in state.printers:
                raise PrintSystemError(f"the printer {name} does not exist")
            state.printers[name].update(values)
            if values.get("state") == "idle":
                for job in state.jobs.values():
                    if job["printer"] == name and job["state"] == PENDING:
                        self._advance(state, job)

    def pause(self, printer: str, reason: str = "") -> None:
        self._set_printer(printer, state="stopped")

    def resume(self, printer: str) -> None:
        self._set_printer(printer, state="idle", accepting=True)

    def set_reasons(self, printer: str, *reasons: str) -> None:
        """For tests and the demo: e.g. `media-empty-error` or `broken` (jobs abort)."""
        self._set_printer(printer, reasons=list(reasons))

    def add_printer(self, name: str, uri: str, driver: str, hold: bool = True) -> None:
        check_printer_name(name)
        check_uri(uri)
        with self._state() as state:
            state.printers[name] = asdict(Printer(name, "idle", True, uri=uri))


def print_system_for(config: "Config") -> PrintSystem:
    """The print system the configuration names (`printing.backend`)."""
    settings = config.printing
    if settings.backend == "fake":
        return FakePrintSystem(config.data_dir / "fake-printers.json", printers=settings.public_queues)
    return CupsPrintSystem(settings.cups_server)
