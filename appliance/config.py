"""One typed configuration object: defaults, then the YAML file, then EPN_* variables.

The data directory holds `config.yaml`; every key of it is documented in
`config.example.yaml` beside this module (a test checks that). A bad value stops
start-up with one line naming the key, the value and what is expected.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

CONFIG_FILE = "config.yaml"
SECRET_FILE = "secret_key"
LANGUAGES = ("fr", "nl", "en")
VISITOR_LANGUAGES = ("fr", "nl", "en", "ar")


class ConfigError(Exception):
    """A setting has a bad value; the message is one line for the operator."""


def _check(ok: bool, expected: str) -> None:
    if not ok:
        raise ValueError(expected)


def _int(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        expected = f"an integer between {low} and {high}"
        if isinstance(value, bool):
            raise ValueError(expected)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(expected) from None
        _check(low <= number <= high, expected)
        return number

    return parse


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("true or false")


def _text(max_length: int, allow_empty: bool = False) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = "" if value is None else str(value).strip()
        _check(allow_empty or bool(text), "a non-empty text")
        _check(len(text) <= max_length, f"at most {max_length} characters")
        return text

    return parse


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        _check(text in choices, "one of " + ", ".join(choices))
        return text

    return parse


def _timezone(value: Any) -> str:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("an IANA time zone such as Europe/Brussels") from None
    return str(value)


def _postal_code(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    _check(text == "" or (text.isdigit() and len(text) == 4), "a 4-digit Belgian postal code")
    return text


def _commune(value: Any) -> str:
    from appliance.municipalities import normalise_commune

    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    try:
        return normalise_commune(text)
    except LookupError as error:
        raise ValueError(str(error)) from None


def _networks(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    out = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            out.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise ValueError("a list of networks such as 192.168.1.0/24, ::1/128") from None
    return tuple(out)


def setting(default: Any, parse: Callable[[Any], Any]) -> Any:
    """A dataclass field carrying its parser, so the loader validates every key."""
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata={"parse": parse})
    return field(default=default, metadata={"parse": parse})


@dataclass(frozen=True)
class SiteConfig:
    name: str = setting("EPN", _text(100))
    commune: str = setting("", _commune)
    postal_code: str = setting("", _postal_code)
    timezone: str = setting("Europe/Brussels", _timezone)
    computers: int = setting(0, _int(0, 500))
    default_language: str = setting("fr", _choice(*LANGUAGES))


@dataclass(frozen=True)
class ServerConfig:
    host: str = setting("0.0.0.0", _text(255))
    port: int = setting(8080, _int(1, 65535))
    workers: int = setting(2, _int(1, 16))
    tls: bool = setting(False, _bool)
    max_upload_kb: int = setting(2048, _int(16, 102400))


@dataclass(frozen=True)
class StaffConfig:
    allowed_networks: tuple[str, ...] = setting((), _networks)
    session_hours: int = setting(10, _int(1, 168))
    login_attempts: int = setting(5, _int(1, 100))
    lockout_minutes: int = setting(15, _int(1, 1440))


@dataclass(frozen=True)
class RetentionConfig:
    member_days: int = setting(730, _int(30, 3650))
    erasure_log_days: int = setting(400, _int(30, 3650))
    survey_days: int = setting(400, _int(62, 3650))


@dataclass(frozen=True)
class FederationConfig:
    small_cell_k: int = setting(5, _int(3, 50))
    require_clock_sync: bool = setting(True, _bool)
    backfill_weeks: int = setting(8, _int(0, 260))
    push_timeout_seconds: int = setting(20, _int(1, 300))


def _database_url(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    _check(text == "" or text.startswith(("sqlite:///", "postgresql://", "postgres://")),
           "empty (SQLite in the data directory), sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
    return text


@dataclass(frozen=True)
class HubConfig:
    name: str = setting("hub", _text(64))
    database_url: str = setting("", _database_url)
    max_report_kb: int = setting(64, _int(4, 4096))
    on_time_days: int = setting(7, _int(1, 90))
    enrolment_token_hours: int = setting(72, _int(1, 720))
    tls: bool = setting(False, _bool)
    session_hours: int = setting(10, _int(1, 168))
    login_attempts: int = setting(5, _int(1, 100))
    lockout_minutes: int = setting(15, _int(1, 1440))
    account_retention_days: int = setting(365, _int(30, 3650))
    audit_days: int = setting(1095, _int(90, 3650))


# One section per domain; each domain adds its own keys to its own section only.
@dataclass(frozen=True)
class BookingConfig:
    pass


@dataclass(frozen=True)
class QueueConfig:
    pass


@dataclass(frozen=True)
class PrintingConfig:
    pass


@dataclass(frozen=True)
class WifiConfig:
    pass


@dataclass(frozen=True)
class LogConfig:
    level: str = setting("INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR"))


SECTIONS = {
    "site": SiteConfig,
    "server": ServerConfig,
    "staff": StaffConfig,
    "retention": RetentionConfig,
    "federation": FederationConfig,
    "hub": HubConfig,
    "booking": BookingConfig,
    "queue": QueueConfig,
    "printing": PrintingConfig,
    "wifi": WifiConfig,
    "log": LogConfig,
}


@dataclass(frozen=True)
class Config:
    data_dir: Path
    secret_key: str
    site: SiteConfig
    server: ServerConfig
    staff: StaffConfig
    retention: RetentionConfig
    federation: FederationConfig
    hub: HubConfig
    booking: BookingConfig
    queue: QueueConfig
    printing: PrintingConfig
    wifi: WifiConfig
    log: LogConfig
    testing: bool = False

    @property
    def database_path(self) -> Path:
        return self.data_dir / "epn.sqlite3"

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.sqlite3"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.site.timezone)


def setting_keys() -> list[str]:
    """Every `section.key` the loader accepts, for documentation checks."""
    return [
        f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in dataclasses.fields(cls)
    ]


def _build_section(name: str, cls: type, values: Mapping[str, Any], origin: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{name}.{unknown[0]}: unknown setting (in {origin})")
    parsed = {}
    for key, raw in values.items():
        try:
            parsed[key] = known[key].metadata["parse"](raw)
        except ValueError as error:
            raise ConfigError(
                f"{name}.{key}: {raw!r} is not valid, expected {error} (in {origin})"
            ) from None
    return cls(**parsed)


def _read_yaml(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected sections such as 'site:' and 'server:'")
    for name, values in list(data.items()):
        if name not in SECTIONS:
            raise ConfigError(f"{name}: unknown section (in {path})")
        if values is None:  # a section with only comments
            data[name] = values = {}
        if not isinstance(values, dict):
            raise ConfigError(f"{name}: expected keys under the section (in {path})")
    return data


def _env_values(environ: Mapping[str, str]) -> dict[str, dict[str, tuple[str, str]]]:
    """EPN_SERVER_PORT=8081 -> {"server": {"port": ("8081", "EPN_SERVER_PORT")}}."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            var = f"EPN_{name}_{f.name}".upper()
            if var in environ:
                found.setdefault(name, {})[f.name] = (environ[var], var)
    return found


def _secret_key(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def load_config(
    data_dir: str | Path,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
    testing: bool = False,
) -> Config:
    """Build the configuration of the data directory `data_dir`.

    `overrides` (section -> key -> value) win over the file; EPN_* variables win over both.
    """
    data_dir = Path(data_dir).resolve()
    file_path = data_dir / CONFIG_FILE
    merged: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    origins: dict[str, dict[str, str]] = {name: {} for name in SECTIONS}
    for name, values in _read_yaml(file_path).items():
        merged[name].update(values)
        origins[name].update({key: str(file_path) for key in values})
    for name, values in (overrides or {}).items():
        if name not in SECTIONS:
            raise ConfigError(f"{name}: unknown section")
        merged[name].update(values)
        origins[name].update({key: "overrides" for key in values})
    for name, values in _env_values(os.environ if environ is None else environ).items():
        for key, (raw, var) in values.items():
            merged[name][key] = raw
            origins[name][key] = var
    sections = {}
    for name, cls in SECTIONS.items():
        for key, raw in merged[name].items():
            # Validate key by key so the message names where the value came from.
            _build_section(name, cls, {key: raw}, origins[name].get(key, "?"))
        sections[name] = _build_section(name, cls, merged[name], "configuration")
    return Config(data_dir=data_dir, secret_key=_secret_key(data_dir), testing=testing, **sections)


def write_config_file(data_dir: Path, values: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write (or update) the data directory's config.yaml with the given values."""
    path = Path(data_dir) / CONFIG_FILE
    current = _read_yaml(path)
    for name, section in values.items():
        current.setdefault(name, {}).update(section)
    path.write_text(
        "# EPN appliance settings; see config.example.yaml for every key.\n"
        + yaml.safe_dump(current, sort_keys=True, allow_unicode=True),
        encoding="utf-8",
    )
    return path
