"""Finishing the setup: the wizard's answers become the appliance's settings.

The steps run in a background thread of the web worker that received "finish"; their
progress is kept in the state file, where every worker reads it. Steps are safe to run
again: a retry skips the ones done (an enrolment token is used once), and a crash
leaves setup pending, to be finished again. Setup is marked done last, in one write
that also forgets the code, the token and the password hash.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.config import CONFIG_FILE, load_config, write_config_file
from appliance.durable import sync_directory
from appliance.setup.code import claim_is_valid
from appliance.setup.draft import NotClaimed, missing_steps
from appliance.setup.state import DONE, PENDING, changing_state, read_state

STEPS = ("hub", "settings", "account", "wifi", "done")
NETWORK_DIR = "network"  # hostapd.conf, dnsmasq.conf, portal.nft rendered for the system
STALE_AFTER = timedelta(minutes=10)
log = logging.getLogger("appliance.setup")


class StepFailed(Exception):
    """A step could not be done: `reason` is a code the pages translate; `detail` is
    the technical cause, shown beside it."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail[:300]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def write_settings(data_dir: Path, values: dict[str, dict[str, Any]]) -> None:
    """Update config.yaml all at once: written and checked beside it, then renamed over."""
    target = Path(data_dir) / CONFIG_FILE
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".setup-") as scratch:
        draft = Path(scratch) / CONFIG_FILE
        if target.exists():
            shutil.copy2(target, draft)
        write_config_file(Path(scratch), values)
        load_config(Path(scratch), environ={})  # a value the loader refuses stops here
        with open(draft, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(draft, target)
    sync_directory(Path(data_dir))


def _hub(data_dir: Path, draft: dict, state: dict) -> str:
    hub = draft["hub"]
    if hub.get("skipped"):
        return "skipped"
    if state.get("enrolled") == {"url": hub["url"], "token": hub["token"]}:
        return "done"  # a retry: this token was used already, by us
    from appliance.federation.enrol import EnrolmentError, enrol

    try:
        enrol(load_config(data_dir), hub["url"], hub["token"])
    except EnrolmentError as error:
        raise StepFailed(_enrolment_reason(str(error)), str(error)) from None
    with changing_state(data_dir) as fresh:
        fresh["enrolled"] = {"url": hub["url"], "token": hub["token"]}
    return "done"


def _enrolment_reason(message: str) -> str:
    for reason in ("expired_token", "used_token", "unknown_token", "revoked_key", "key_in_use"):
        if reason in message:
            return reason
    return "hub_unreachable" if "did not answer" in message else "hub_refused"


def _settings(data_dir: Path, draft: dict, state: dict) -> str:
    site = {key: value for key, value in draft["site"].items() if key != "commune_typed"}
    wifi = {"ssid": draft["wifi"]["ssid"], "backend": "nft" if draft["wifi"]["portal"] else "fake"}
    try:
        write_settings(data_dir, {"site": site, "wifi": wifi})
    except Exception as error:  # noqa: BLE001  (shown on the progress page, never a 500)
        raise StepFailed("settings", str(error)) from None
    return "done"


def _account(data_dir: Path, draft: dict, state: dict) -> str:
    """Create the coordinator, or bring the one an earlier attempt made up to date."""
    from peewee import IntegrityError

    from appliance.db import database
    from appliance.models import StaffUser

    account = draft["account"]
    values = {"username": account["username"], "display_name": account["display_name"],
              "password_hash": account["password_hash"], "role": "coordinator", "active": True}
    with database.connection_context():
        try:
            with database.atomic():
                made = StaffUser.get_or_none(StaffUser.id == state.get("account_id"))
                if made is None:
                    made = StaffUser.create(**values)
                else:
                    StaffUser.update(**values).where(StaffUser.id == made.id).execute()
        except IntegrityError:
            raise StepFailed("username_taken", account["username"]) from None
    with changing_state(data_dir) as fresh:
        fresh["account_id"] = made.id
    return "done"


def _wifi(data_dir: Path, draft: dict, state: dict) -> str:
    from appliance.hardware.network import render_all

    try:
        render_all(load_config(data_dir), Path(data_dir) / NETWORK_DIR)
    except OSError as error:
        raise StepFailed("wifi", str(error)) from None
    return "done"


def _done(data_dir: Path, draft: dict, state: dict) -> str:
    with changing_state(data_dir) as fresh:
        issue_file = fresh.get("issue_file")
        for secret in ("code", "draft", "enrolled", "failures", "locked_until"):
            fresh.pop(secret, None)
        fresh["status"], fresh["done_at"] = DONE, _utcnow().isoformat()
        fresh["job"]["steps"]["done"] = "done"
    if issue_file:
        remove_issue_file(Path(issue_file))
    log.info("setup: done; the setup code no longer works")
    return "done"


ACTIONS: dict[str, Callable[[Path, dict, dict], str]] = {
    "hub": _hub, "settings": _settings, "account": _account, "wifi": _wifi, "done": _done}


def remove_issue_file(path: Path) -> None:
    """Remove the console's setup message; where the folder is not ours, empty it."""
    try:
        path.unlink(missing_ok=True)
    except PermissionError:
        try:
            path.write_text("", encoding="utf-8")
        except OSError as error:
            log.warning("setup: could not remove %s: %s", path, error)


def _is_stale(job: dict, now: datetime) -> bool:
    """A job whose process is gone, or that has not moved for long, was interrupted."""
    try:
        os.kill(job["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return now - datetime.fromisoformat(job["moved_at"]) > STALE_AFTER


def progress(data_dir: Path) -> dict[str, Any] | None:
    """{"steps": {step: waiting|running|done|skipped|failed}, "reason", "detail",
    "running"}, or None before "finish" (or after a change of the answers)."""
    state = read_state(data_dir)
    job = state.get("job")
    if job is None:
        return None
    steps = dict(job["steps"])
    running = _is_running(steps)
    if running and state.get("status") == PENDING and _is_stale(job, _utcnow()):
        first = next(name for name, value in steps.items() if value in ("running", "waiting"))
        steps[first] = "failed"
        return {"steps": steps, "reason": "interrupted", "detail": "", "running": False}
    return {"steps": steps, "reason": job.get("reason", ""), "detail": job.get("detail", ""),
            "running": running}


def _is_running(steps: dict[str, str]) -> bool:
    """Started, not failed, not over."""
    values = set(steps.values())
    return "failed" not in values and bool(values & {"waiting", "running"})


def start_finishing(data_dir: Path, claim: str | None) -> bool:
    """Start (or retry) the finishing steps in the background; False if they are running."""
    now = _utcnow()
    with changing_state(data_dir) as state:
        if not claim_is_valid(state, claim):
            raise NotClaimed()
        draft = state.get("draft") or {}
        if missing_steps(draft):
            raise ValueError(f"steps not answered: {', '.join(missing_steps(draft))}")
        job = state.get("job")
        if job and _is_running(job["steps"]) and not _is_stale(job, now):
            return False
        done = {name for name, value in (job or {}).get("steps", {}).items() if value in ("done", "skipped")}
        state["job"] = {"id": secrets.token_hex(8), "pid": os.getpid(), "moved_at": now.isoformat(),
                        "steps": {name: (job["steps"][name] if name in done else "waiting") for name in STEPS}}
        job_id = state["job"]["id"]
    threading.Thread(target=run_steps, args=(Path(data_dir), job_id), name="epn-setup", daemon=True).start()
    return True


def _mark(data_dir: Path, job_id: str, step: str, value: str, reason: str = "", detail: str = "") -> bool:
    with changing_state(data_dir) as state:
        job = state.get("job")
        if job is None or job["id"] != job_id:
            return False  # the answers changed meanwhile: this run is over
        job["steps"][step] = value
        job["moved_at"] = _utcnow().isoformat()
        job["reason"], job["detail"] = reason, detail
        return True


def run_steps(data_dir: Path, job_id: str) -> None:
    """Run the steps not done yet, in order; stop at the first that fails."""
    for step in STEPS:
        state = read_state(data_dir)
        job = state.get("job")
        if state.get("status") != PENDING or job is None or job["id"] != job_id:
            return
        if job["steps"][step] in ("done", "skipped"):
            continue
        if not _mark(data_dir, job_id, step, "running"):
            return
        try:
            outcome = ACTIONS[step](data_dir, state["draft"], state)
        except StepFailed as failure:
            log.warning("setup: step %s failed: %s", step, failure)
            _mark(data_dir, job_id, step, "failed", failure.reason, failure.detail)
            return
        except Exception as error:
            log.exception("setup: step %s failed", step)
            _mark(data_dir, job_id, step, "failed", "unexpected", str(error))
            return
        if step != "done":
            _mark(data_dir, job_id, step, outcome)
