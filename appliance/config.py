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
    if isinstance(default, dict):  # a table such as help kind -> purpose: a copy each
        return field(default_factory=lambda: dict(default), metadata={"parse": parse})
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
    behind_proxy: bool = setting(False, _bool)


# One section per domain; each domain adds its own keys to its own section only.
@dataclass(frozen=True)
class BookingConfig:
    seat_slot_minutes: int = setting(60, _int(15, 240))
    help_minutes: int = setting(30, _int(10, 180))
    days_ahead: int = setting(14, _int(1, 90))
    no_show_minutes: int = setting(15, _int(0, 240))
    retention_days: int = setting(30, _int(1, 3650))
    code_attempts: int = setting(5, _int(1, 100))
    code_lockout_minutes: int = setting(10, _int(1, 1440))


# Kinds of help a visitor can ask for at the queue, and the visit purpose each counts as.
DEFAULT_HELP_KINDS = {
    "forms": "admin_procedures",
    "eid": "admin_procedures",
    "job": "job_search",
    "computer": "learning_ict",
    "other": "leisure_culture_info",
}


def _help_kinds(value: Any) -> dict[str, str]:
    """kind -> purpose code, from a YAML mapping or `forms=admin_procedures,job=job_search`."""
    from appliance.desk.visits import PURPOSES

    expected = "a mapping of kinds (a-z, _) to purpose codes (" + ", ".join(PURPOSES) + ")"
    if isinstance(value, str):
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        _check(all(len(pair) == 2 for pair in pairs), expected)
        value = {kind.strip(): purpose.strip() for kind, purpose in pairs}
    _check(isinstance(value, dict) and 0 < len(value) <= 12, expected)
    kinds = {str(kind): str(purpose) for kind, purpose in value.items()}
    for kind, purpose in kinds.items():
        _check(kind.replace("_", "").isalpha() and kind.isascii() and kind.islower()
               and len(kind) <= 24, expected)
        _check(purpose in PURPOSES, expected)
    return kinds


@dataclass(frozen=True)
class QueueConfig:
    help_kinds: dict[str, str] = setting(DEFAULT_HELP_KINDS, _help_kinds)
    default_service_minutes: int = setting(10, _int(1, 120))
    counters: int = setting(1, _int(1, 9))
    stop_minutes_before_closing: int = setting(10, _int(0, 120))
    client_tickets_per_hour: int = setting(3, _int(1, 100))
    max_waiting: int = setting(150, _int(1, 999))
    kiosk_networks: tuple[str, ...] = setting((), _networks)
    ticket_days: int = setting(62, _int(62, 3650))
    now_refresh_seconds: int = setting(15, _int(5, 300))


def _queue_names(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    names = tuple(str(item).strip() for item in items if str(item).strip())
    for name in names:
        _check(len(name) <= 60 and all(c.isalnum() or c in "-_" for c in name),
               "a list of CUPS queue names (letters, digits, - and _)")
    return names


@dataclass(frozen=True)
class PrintingConfig:
    backend: str = setting("cups", _choice("cups", "fake"))
    cups_server: str = setting("", _text(255, allow_empty=True))
    public_queues: tuple[str, ...] = setting((), _queue_names)
    upload_queue: str = setting("", _text(60, allow_empty=True))
    driver: str = setting("everywhere", _text(255))
    hold_hours: int = setting(24, _int(1, 720))
    stalled_minutes: int = setting(30, _int(1, 1440))
    quota_period: str = setting("week", _choice("week", "month"))
    charge_by: str = setting("side", _choice("side", "sheet"))
    visitor_bw: int = setting(20, _int(0, 10000))
    visitor_colour: int = setting(5, _int(0, 10000))
    trainee_bw: int = setting(50, _int(0, 10000))
    trainee_colour: int = setting(10, _int(0, 10000))
    partner_bw: int = setting(100, _int(0, 10000))
    partner_colour: int = setting(20, _int(0, 10000))
    guest_bw: int = setting(5, _int(0, 1000))
    guest_colour: int = setting(0, _int(0, 1000))
    price_bw_cents: int = setting(0, _int(0, 1000))
    price_colour_cents: int = setting(0, _int(0, 1000))
    max_pages: int = setting(100, _int(1, 5000))
    document_name_days: int = setting(7, _int(1, 365))


def _interface(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    _check(0 < len(text) < 16 and all(c.isalnum() or c in "._-" for c in text),
           "a network interface name such as wlan0 or eth1")
    return text


def _subnet(version: int, allow_empty: bool = False) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = "" if value is None else str(value).strip()
        if not text and allow_empty:
            return ""
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            network = None
        example = "10.44.0.0/22" if version == 4 else "fd44::/64 (or empty: no IPv6)"
        _check(network is not None and network.version == version and network.num_addresses >= 4,
               f"an IPv{version} network such as {example}")
        return str(network)

    return parse


def _url(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    _check(text == "" or (text.startswith(("http://", "https://")) and " " not in text),
           "empty or an http:// or https:// address")
    return text.rstrip("/")


def _hosts(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    out = []
    for item in items:
        text = str(item).strip().lower()
        if not text:
            continue
        try:
            out.append(str(ipaddress.ip_network(text, strict=False)))
            continue
        except ValueError:
            pass
        labels = text.rstrip(".").split(".")
        _check(len(labels) >= 2 and all(0 < len(label) < 64 and label.replace("-", "").isalnum()
                                        for label in labels),
               "a list of host names, addresses or networks such as www.belgium.be, 193.191.0.0/16")
        out.append(text.rstrip("."))
    return tuple(out)


def _macs(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    out = []
    for item in items:
        text = str(item).strip().lower().replace("-", ":")
        if not text:
            continue
        parts = text.split(":")
        _check(len(parts) == 6 and all(len(p) == 2 and all(c in "0123456789abcdef" for c in p) for p in parts),
               "a list of MAC addresses such as 3c:22:fb:12:34:56")
        out.append(text)
    return tuple(out)


def _ssid(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    _check(0 < len(text.encode("utf-8")) <= 32 and text.isprintable(), "a network name of 1 to 32 bytes")
    return text


def _passphrase(value: Any) -> str:
    text = "" if value is None else str(value)
    _check(text == "" or (8 <= len(text) <= 63 and text.isascii() and text.isprintable()),
           "empty (an open network) or 8 to 63 printable ASCII characters")
    return text


def _country(value: Any) -> str:
    text = str(value).strip().upper()
    _check(len(text) == 2 and text.isalpha(), "a two-letter country code such as BE")
    return text


@dataclass(frozen=True)
class WifiConfig:
    backend: str = setting("fake", _choice("fake", "nft"))
    visitor_interface: str = setting("wlan0", _interface)
    uplink_interface: str = setting("eth0", _interface)
    external_ap: bool = setting(False, _bool)
    subnet_v4: str = setting("10.44.0.0/22", _subnet(4))
    subnet_v6: str = setting("fd44::/64", _subnet(6, allow_empty=True))
    portal_host: str = setting("", _text(253, allow_empty=True))
    portal_port: int = setting(8080, _int(1, 65535))
    https_url: str = setting("", _url)
    venue_info_url: str = setting("", _url)
    session_minutes: int = setting(120, _int(5, 1440))
    daily_minutes: int = setting(0, _int(0, 1440))
    byte_quota_mb: int = setting(0, _int(0, 1_000_000))
    rate_limit_kbytes: int = setting(0, _int(0, 1_000_000))
    walled_garden: tuple[str, ...] = setting((), _hosts)
    trusted_macs: tuple[str, ...] = setting((), _macs)
    ssid: str = setting("EPN", _ssid)
    passphrase: str = setting("", _passphrase)
    channel: int = setting(6, _int(1, 13))
    country_code: str = setting("BE", _country)
    dhcp_lease_minutes: int = setting(60, _int(2, 1440))
    accepts_per_minute: int = setting(6, _int(1, 1000))
    address_retention_hours: int = setting(24, _int(1, 720))
    session_days: int = setting(400, _int(62, 3650))


# The kinds of device the laptop-thèque lends, and the default take-home loan of each, in days.
DEVICE_KINDS = ("laptop", "chromebook", "tablet", "eid_reader", "braille_keyboard",
                "ergonomic_mouse", "headset", "router_4g", "other")
DEFAULT_LOAN_DAYS = {"laptop": 14, "chromebook": 14, "tablet": 14, "eid_reader": 7,
                     "braille_keyboard": 28, "ergonomic_mouse": 28, "headset": 14,
                     "router_4g": 7, "other": 7}


def _loan_days(value: Any) -> dict[str, int]:
    """kind -> days, from a YAML mapping or `laptop=14,tablet=7`; kinds left out keep
    their default."""
    expected = "a mapping of device kinds (" + ", ".join(DEVICE_KINDS) + ") to days (1 to 120)"
    if isinstance(value, str):
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        _check(all(len(pair) == 2 for pair in pairs), expected)
        value = {kind.strip(): days.strip() for kind, days in pairs}
    _check(isinstance(value, dict), expected)
    days = dict(DEFAULT_LOAN_DAYS)
    for kind, raw in value.items():
        _check(str(kind) in DEVICE_KINDS, expected)
        try:
            days[str(kind)] = _int(1, 120)(raw)
        except ValueError:
            raise ValueError(expected) from None
    return days


@dataclass(frozen=True)
class LendingConfig:
    loan_days: dict[str, int] = setting(DEFAULT_LOAN_DAYS, _loan_days)
    onsite_hours: int = setting(3, _int(1, 12))
    group_loan_days: int = setting(3, _int(1, 60))
    renewals: int = setting(1, _int(0, 10))
    max_devices: int = setting(1, _int(1, 10))
    partner_max_devices: int = setting(12, _int(1, 200))
    deposit_cents: int = setting(0, _int(0, 100_000))
    lost_after_days: int = setting(30, _int(1, 365))
    history_days: int = setting(30, _int(1, 365))
    borrower_days: int = setting(365, _int(30, 3650))
    ownership_years: int = setting(4, _int(0, 20))


def _release_source(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    _check(text == "" or (text.startswith(("https://", "http://")) and " " not in text)
           or text.startswith(("file:///", "/")),
           "empty, an https:// address or an absolute path (of an index, a folder or a .tar)")
    return text


def _public_keys(value: Any) -> tuple[str, ...]:
    import base64
    import binascii

    items = value.split(",") if isinstance(value, str) else list(value or [])
    keys = tuple(str(item).strip() for item in items if str(item).strip())
    for key in keys:
        try:
            ok = len(base64.b64decode(key, validate=True)) == 32
        except (binascii.Error, ValueError):
            ok = False
        _check(ok, "a list of base64 Ed25519 public keys (scripts/release.py keygen prints one)")
    return keys


def _absolute_path(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    _check(text.startswith("/") and len(text) <= 255, "an absolute path such as /opt/epn")
    return text.rstrip("/") or "/"


@dataclass(frozen=True)
class UpdateConfig:
    url: str = setting("", _release_source)
    trusted_keys: tuple[str, ...] = setting((), _public_keys)
    health_seconds: int = setting(60, _int(5, 900))
    restart_command: str = setting("systemctl restart epn-serve.service epn-worker.service",
                                   _text(500))
    prefix: str = setting("/opt/epn", _absolute_path)
    keep_releases: int = setting(3, _int(2, 20))


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
    "lending": LendingConfig,
    "update": UpdateConfig,
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
    lending: LendingConfig
    update: UpdateConfig
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
