"""The inventory: devices named by their asset tag, their status, CSV import and export.

A CSV file with one bad row imports nothing: every error is reported with its line number.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

from peewee import fn

from appliance.config import DEVICE_KINDS
from appliance.csvfiles import CsvFileError, RowError, decode
from appliance.db import database
from appliance.errors import N_, InvalidInput, NotFound
from appliance.models import Device

KINDS = DEVICE_KINDS
STATUSES = ("available", "on_loan", "reserved", "to_reset", "maintenance", "lost", "retired")
CONDITIONS = ("new", "good", "worn", "damaged")
ACCESSORIES = ("charger", "sleeve", "mouse", "headset", "cable", "stylus", "sim")
COLUMNS = [
    "tag",
    "kind",
    "model",
    "serial",
    "accessories",
    "funding",
    "owner",
    "acquired_on",
    "owned_from",
    "condition",
    "notes",
]
REQUIRED_COLUMNS = ("tag", "kind")
LIMITS = {"model": 80, "serial": 60, "accessories": 200, "funding": 80, "owner": 80, "notes": 300}
MAX_ROWS = 5000
MAX_ERRORS = 50
_TAG = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,19}", re.ASCII)
_ACCESSORY = re.compile(r"[\w .-]{1,30}")


def normalise_tag(text: str) -> str:
    """What was typed or scanned -> a tag: a USB reader reading the label's QR code types
    the device page's address, so the tag is what follows `/devices/`."""
    text = (text or "").strip()
    if "/devices/" in text:
        text = text.rsplit("/devices/", 1)[1].split("?", 1)[0].strip("/")
    return text.upper()


def check_tag(text: str) -> str:
    tag = normalise_tag(text)
    if not tag:
        raise InvalidInput("tag", N_("Scan or type the device's tag."))
    if not _TAG.fullmatch(tag):
        raise InvalidInput(
            "tag", N_("A tag has 1 to 20 letters, digits, dots, dashes or underscores.")
        )
    return tag


def get_device(tag: str) -> Device:
    device = Device.get_or_none(Device.tag == normalise_tag(tag))
    if device is None:
        raise NotFound(tag)
    return device


def find_device(text: str) -> Device:
    """The device of a scanned or typed tag, or InvalidInput naming the unknown tag."""
    tag = check_tag(text)
    device = Device.get_or_none(Device.tag == tag)
    if device is None:
        raise InvalidInput("tag", N_("No device has the tag %(tag)s."), tag=tag)
    return device


def list_devices(kind: str = "", status: str = "") -> list[Device]:
    query = Device.select().order_by(Device.kind, Device.tag)
    if kind in KINDS:
        query = query.where(Device.kind == kind)
    if status in STATUSES:
        query = query.where(Device.status == status)
    elif status != "retired":
        query = query.where(Device.status != "retired")
    return list(query)


def accessories_of(device_or_text: Device | str) -> list[str]:
    text = device_or_text if isinstance(device_or_text, str) else device_or_text.accessories
    return [item for item in (part.strip() for part in text.split("|")) if item]


def count_by(field: str) -> dict[str, int]:
    column = getattr(Device, field)
    return {
        value: n
        for value, n in Device.select(column, fn.COUNT(Device.id)).group_by(column).tuples()
    }


# --- CSV ---------------------------------------------------------------------------


class InventoryFileError(CsvFileError):
    """The file cannot be imported; `errors` lists every problem found (up to a limit)."""


def _date(raw: str) -> date | None:
    if not raw:
        return None
    if len(raw) != 10:
        raise ValueError(raw)
    return date.fromisoformat(raw)


def _parse_row(line: int, row: dict[str, str], ownership_years: int) -> dict | RowError:
    values = {key: (row.get(key) or "").strip() for key in COLUMNS}
    try:
        values["tag"] = check_tag(values["tag"])
    except InvalidInput as error:
        return RowError(line, error.message, error.params)
    if values["kind"] not in KINDS:
        return RowError(
            line,
            N_("%(value)s is not a device kind (%(codes)s)"),
            {"value": values["kind"][:30], "codes": ", ".join(KINDS)},
        )
    values["condition"] = values["condition"] or "good"
    if values["condition"] not in CONDITIONS:
        return RowError(
            line,
            N_("%(value)s is not a condition (%(codes)s)"),
            {"value": values["condition"][:30], "codes": ", ".join(CONDITIONS)},
        )
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            return RowError(
                line, N_("%(column)s: at most %(n)s characters"), {"column": key, "n": limit}
            )
    items = accessories_of(values["accessories"])
    if not all(_ACCESSORY.fullmatch(item) for item in items):
        return RowError(line, N_("accessories: short words separated by | (charger|sleeve)"), {})
    values["accessories"] = "|".join(items)
    for key in ("acquired_on", "owned_from"):
        try:
            values[key] = _date(values[key])
        except ValueError:
            return RowError(
                line, N_("%(value)s is not a date like 2026-03-31"), {"value": values[key][:30]}
            )
    if values["owned_from"] is None and values["acquired_on"] and values["owner"]:
        values["owned_from"] = add_years(values["acquired_on"], ownership_years)
    return values


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _reader(text: str) -> csv.DictReader:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    return csv.DictReader(io.StringIO(text), delimiter=delimiter, restkey="_extra")


def parse_inventory(data: bytes, ownership_years: int = 4) -> list[dict]:
    """Read an inventory CSV; raise InventoryFileError listing every bad line."""
    rows = _reader(decode(data))
    header = [name.strip().lower() for name in (rows.fieldnames or [])]
    unknown = [name for name in header if name not in COLUMNS + ["status"]]
    if unknown or not all(name in header for name in REQUIRED_COLUMNS):
        raise InventoryFileError(
            [
                RowError(
                    1,
                    N_("the first line must name the columns: %(columns)s"),
                    {"columns": ",".join(COLUMNS)},
                )
            ]
        )
    rows.fieldnames = header
    devices: list[dict] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for row in rows:
        line = rows.line_num
        if not any((value or "").strip() for key, value in row.items() if key != "_extra"):
            continue
        if line > MAX_ROWS:
            errors.append(RowError(line, N_("too many rows (at most %(n)s)"), {"n": MAX_ROWS}))
            break
        result = (
            RowError(line, N_("more values than columns"), {})
            if row.get("_extra")
            else _parse_row(line, row, ownership_years)
        )
        if isinstance(result, RowError):
            errors.append(result)
        elif result["tag"] in seen:
            errors.append(
                RowError(line, N_("same tag as line %(other)s"), {"other": seen[result["tag"]]})
            )
        else:
            seen[result["tag"]] = line
            devices.append(result)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise InventoryFileError(errors)
    if not devices:
        raise InventoryFileError([RowError(2, N_("the file has no rows after the header"), {})])
    return devices


def import_inventory(rows: list[dict]) -> tuple[int, int]:
    """Add new devices and update known ones (their status never changes here), all or
    nothing; return (added, updated)."""
    added = updated = 0
    with database.atomic():
        for values in rows:
            device = Device.get_or_none(Device.tag == values["tag"])
            if device is None:
                Device.create(**values)
                added += 1
            else:
                Device.update(**{k: v for k, v in values.items() if k != "tag"}).where(
                    Device.id == device.id
                ).execute()
                updated += 1
    return added, updated


def export_inventory() -> str:
    """The whole inventory (retired devices included) as CSV, in the import's columns plus status."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS + ["status"])
    for device in Device.select().order_by(Device.tag):
        row = []
        for key in COLUMNS + ["status"]:
            value = getattr(device, key)
            text = value.isoformat() if isinstance(value, date) else str(value or "")
            # A spreadsheet would run a cell starting with = + - @ as a formula.
            row.append("'" + text if text[:1] in ("=", "+", "-", "@") else text)
        writer.writerow(row)
    return out.getvalue()


def save_device(values: dict, device: Device | None = None) -> Device:
    """Add one device (or change one) from a staff form, with the import's checks."""
    row = {key: str(values.get(key) or "") for key in COLUMNS}
    if device is not None:
        row["tag"] = device.tag
    result = _parse_row(0, row, int(values.get("ownership_years", 4)))
    if isinstance(result, RowError):
        field = next((k for k in COLUMNS if k in result.message[:20]), "tag")
        raise InvalidInput(field, result.message, **result.params)
    with database.atomic():
        if device is None:
            if Device.select().where(Device.tag == result["tag"]).exists():
                raise InvalidInput(
                    "tag", N_("A device already has the tag %(tag)s."), tag=result["tag"]
                )
            return Device.create(**result)
        Device.update(**{k: v for k, v in result.items() if k != "tag"}).where(
            Device.id == device.id
        ).execute()
    return Device.get_by_id(device.id)


def retire_device(device: Device, now: datetime) -> Device:
    """Take a device out of the inventory for good; its past loans stay for the figures."""
    with database.atomic("IMMEDIATE"):
        current = Device.get_by_id(device.id)
        if current.status == "on_loan":
            raise InvalidInput("tag", N_("This device is on loan: take it back first."))
        Device.update(status="retired", retired_at=now).where(Device.id == device.id).execute()
    return Device.get_by_id(device.id)
