"""The answers of the setup wizard, kept in the state file until "finish".

Each step is checked by the validators the rest of the appliance uses (the config
loader's for the site and the Wi-Fi, `create_user`'s for the account, the enrolment's
for the hub's address) and stored only when all its fields are right; nothing reaches
config.yaml or the database before the finishing steps run. Errors are `InvalidInput`
with messages marked for translation.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from appliance.config import ConfigError, load_config
from appliance.errors import N_, InvalidInput
from appliance.setup.code import claim_is_valid
from appliance.setup.state import changing_state

STEPS = ("site", "wifi", "account", "hub")
PLACEHOLDER_NAME = "EPN"  # the name `epn setup start` gives until the wizard asks for it
MESSAGES = {
    "site.name": N_("Give the EPN's name (at most 100 characters)."),
    "site.commune": N_("Unknown municipality: type its name in French or Dutch, or its 5-digit NIS code."),
    "site.postal_code": N_("A Belgian postal code has 4 digits."),
    "site.computers": N_("Give a whole number from 0 to 500."),
    "site.timezone": N_("Choose a time zone from the list."),
    "wifi.ssid": N_("The Wi-Fi name needs 1 to 32 characters (fewer with accents)."),
}


class StepErrors(Exception):
    """Some fields of a step are wrong; `errors` has one InvalidInput per field."""

    def __init__(self, errors: list[InvalidInput]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


class NotClaimed(Exception):
    """The session's claim is not the current code's, or setup is not pending."""


def _check_settings(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each value through the config loader, alone, so that every wrong field is named."""
    errors, checked = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for section, keys in values.items():
            for key, value in keys.items():
                try:
                    loaded = load_config(Path(scratch), overrides={section: {key: value}}, environ={})
                except ConfigError:
                    errors.append(InvalidInput(key, MESSAGES[f"{section}.{key}"]))
                    continue
                checked.setdefault(section, {})[key] = getattr(getattr(loaded, section), key)
    if errors:
        raise StepErrors(errors)
    return checked


def check_site(name: str, commune: str, postal_code: str, computers: str, timezone: str) -> dict[str, Any]:
    checked = _check_settings({"site": {"name": name, "commune": commune, "postal_code": postal_code,
                                        "computers": computers.strip() or "0", "timezone": timezone}})
    return {**checked["site"], "commune_typed": commune.strip()}


def check_wifi(ssid: str, portal: bool) -> dict[str, Any]:
    return {"ssid": _check_settings({"wifi": {"ssid": ssid}})["wifi"]["ssid"], "portal": bool(portal)}


def check_account(username: str, display_name: str, password: str, again: str,
                  kept_hash: str | None = None) -> dict[str, Any]:
    """Checked by `create_user` itself, in a transaction that is rolled back: the same
    rules, and the hash it made is kept (never the password). An empty password keeps
    the one chosen before (`kept_hash`)."""
    from appliance.accounts import create_user
    from appliance.db import database

    if not password and kept_hash:
        password_hash = kept_hash
        password = again = "x" * 64  # only to run the other checks
    elif password != again:
        raise StepErrors([InvalidInput("password_again", N_("The two passwords are not the same."))])
    else:
        password_hash = None
    opened = database.connect(reuse_if_open=True)
    try:
        with database.atomic() as transaction:
            try:
                user = create_user(username, password, "coordinator", display_name)
            except InvalidInput as error:
                raise StepErrors([error]) from None
            finally:
                transaction.rollback()
    finally:
        if opened:
            database.close()
    return {"username": user.username, "display_name": user.display_name,
            "password_hash": password_hash or user.password_hash}


def check_hub(url: str, token: str) -> dict[str, Any]:
    from appliance.federation.enrol import EnrolmentError, normalise_hub_url

    errors = []
    try:
        url = normalise_hub_url(url)
    except (EnrolmentError, ValueError):  # ValueError: urlsplit's, for "http://[::1" and the like
        errors.append(InvalidInput("hub_url", N_("The hub's address starts with https:// (or http:// for a "
                                                 "test hub), with nothing after a '?' or '#'.")))
    token = token.strip()
    if not token or len(token) > 200 or any(char.isspace() for char in token):
        errors.append(InvalidInput("token", N_("Type the enrolment token the hub gave, or skip this step.")))
    if errors:
        raise StepErrors(errors)
    return {"url": url, "token": token}


def save_step(data_dir: Path, claim: str | None, step: str, answers: dict[str, Any] | None) -> None:
    """Store a step's checked answers (None: the hub step skipped); a finish that failed
    starts again from its first step not done."""
    with changing_state(data_dir) as state:
        if not claim_is_valid(state, claim):
            raise NotClaimed()
        state.setdefault("draft", {})[step] = answers if answers is not None else {"skipped": True}
        state.pop("job", None)


def read_draft(data_dir: Path, claim: str | None) -> dict[str, Any]:
    with changing_state(data_dir) as state:
        if not claim_is_valid(state, claim):
            raise NotClaimed()
        return dict(state.get("draft") or {})


def missing_steps(draft: dict[str, Any]) -> list[str]:
    return [step for step in STEPS if step not in draft]
