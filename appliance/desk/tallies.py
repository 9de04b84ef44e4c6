"""Past daily tallies kept in a spreadsheet: `date,purpose,count`, imported as visits.

Importing the same date and purpose again replaces the earlier count. A file with one
bad row imports nothing: every error is reported with its line number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from appliance.csvfiles import CsvFileError, RowError, decode
from appliance.db import database
from appliance.desk.visits import PURPOSES
from appliance.errors import N_
from appliance.models import Visit

HEADER = ["date", "purpose", "count"]
MAX_COUNT = 2000  # per day and purpose; a large EPN sees about 75 visits a day
MAX_ROWS = 50000
MAX_ERRORS = 20


@dataclass(frozen=True)
class Tally:
    day: date
    purpose: str
    count: int


class TallyFileError(CsvFileError):
    """The file cannot be imported; `errors` lists every problem found (up to a limit)."""


def _parse_row(line: int, row: list[str], today: date) -> Tally | RowError:
    if len(row) != 3:
        return RowError(line, N_("expected 3 values (date, purpose, count), found %(n)s"), {"n": len(row)})
    raw_day, purpose, raw_count = (cell.strip() for cell in row)
    try:
        day = date.fromisoformat(raw_day)
        if len(raw_day) != 10:
            raise ValueError
    except ValueError:
        return RowError(line, N_("%(value)s is not a date like 2026-03-31"), {"value": raw_day[:30]})
    if day > today:
        return RowError(line, N_("%(value)s is in the future"), {"value": raw_day})
    if purpose not in PURPOSES:
        return RowError(line, N_("%(value)s is not a purpose code (%(codes)s)"),
                        {"value": purpose[:40], "codes": ", ".join(PURPOSES)})
    if not raw_count.isdigit() or int(raw_count) > MAX_COUNT:
        return RowError(line, N_("%(value)s is not a whole number between 0 and %(max)s"),
                        {"value": raw_count[:30], "max": MAX_COUNT})
    return Tally(day, purpose, int(raw_count))


def parse_tallies(data: bytes, today: date) -> list[Tally]:
    """Read a CSV file (comma or semicolon separated); raise TallyFileError on any bad row."""
    text = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(rows, [])]
    if header != HEADER:
        raise TallyFileError([RowError(1, N_("the first line must be: date,purpose,count"), {})])
    tallies: list[Tally] = []
    errors: list[RowError] = []
    seen: dict[tuple[date, str], int] = {}
    for index, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if index > MAX_ROWS:
            errors.append(RowError(index, N_("too many rows (at most %(n)s)"), {"n": MAX_ROWS}))
            break
        result = _parse_row(index, row, today)
        if isinstance(result, RowError):
            errors.append(result)
        elif (result.day, result.purpose) in seen:
            errors.append(RowError(index, N_("same date and purpose as line %(other)s"),
                                   {"other": seen[(result.day, result.purpose)]}))
        else:
            seen[(result.day, result.purpose)] = index
            tallies.append(result)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise TallyFileError(errors)
    if not tallies:
        raise TallyFileError([RowError(2, N_("the file has no rows after the header"), {})])
    return tallies


def import_tallies(tallies: list[Tally]) -> int:
    """Replace the imported visits of each (date, purpose) by the new count, all or nothing."""
    with database.atomic():
        for tally in tallies:
            Visit.delete().where(
                (Visit.day == tally.day) & (Visit.purpose == tally.purpose) & (Visit.source == "import")
            ).execute()
            rows = [{"day": tally.day, "hour": None, "purpose": tally.purpose, "source": "import"}] * tally.count
            for start in range(0, len(rows), 500):
                Visit.insert_many(rows[start : start + 500]).execute()
    return sum(t.count for t in tallies)
