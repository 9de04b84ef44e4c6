"""Merged figures as the API and the CLI give them: JSON, or CSV in long form.

The CSV has one value per row, `period,section,scope,key,value`, so that a spreadsheet
or a script can filter and pivot it without knowing the figure keys in advance:

    2026-W47,total,,visits.total,1234
    2026-W47,municipality,21013,visits.total,310
    2026-W47,epn,epn-7,visits.total,312
    2026-W47,weekday,mon,mean,51.5
    2026-11,survey,age,20_29,41
    2026-W47,completeness,,expected,12
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from appliance.period import Period

CSV_HEADER = ("period", "section", "scope", "key", "value")
SUPPRESSION = ("total", "suppressed_cells", "suppressed_sum", "without_suppressed_sum")
MAX_PERIODS = 400  # seven years of weeks: a longer range is refused
DAYS = {"week": 7, "month": 31, "year": 366}


def parse_periods(period: str | None, first: str | None, last: str | None) -> list[Period]:
    """`period`, or the range `first`..`last`; ValueError says what is expected."""
    try:
        if period and not (first or last):
            return [Period.parse(period)]
        if first and last and not period:
            start, stop = Period.parse(first), Period.parse(last)
            # Bound the range before building it: a range is answered period by period.
            if start.kind == stop.kind and (stop.start - start.start).days > MAX_PERIODS * DAYS[start.kind]:
                raise ValueError(f"a range has at most {MAX_PERIODS} periods")
            return Period.range(first, last)
    except OverflowError:  # 9999-W52 ends after the last date Python knows
        raise ValueError("the period is out of range") from None
    raise ValueError("give either period=P, or from=P and to=P (2026-W47, 2026-11 or 2026)")


def figures_document(hub: str, merged: list[dict[str, Any]], single: bool) -> dict[str, Any]:
    """The JSON answer: one period's figures, or a range's as a list."""
    if single:
        return {"hub": hub, **merged[0]}
    return {"hub": hub, "from": merged[0]["period"], "to": merged[-1]["period"], "periods": merged}


def csv_rows(merged: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The long-form rows of one merged period."""
    name = merged["period"]
    for key, value in merged["totals"].items():
        yield name, "total", "", key, value
    for nis, entry in merged["municipalities"].items():
        yield name, "municipality", nis, "epns", entry["epns"]
        for key, value in entry["figures"].items():
            yield name, "municipality", nis, key, value
    for epn, entry in merged["epns"].items():
        yield name, "epn", epn, "on_time", int(entry["on_time"])
        for key, value in entry["figures"].items():
            yield name, "epn", epn, key, value
    for day, stats in merged["weekdays"].items():
        for stat, value in stats.items():
            yield name, "weekday", day, stat, value
    yield from _survey_rows(name, merged["survey"])
    for key, value in merged["completeness"].items():
        text = " ".join(value) if isinstance(value, list) else value
        yield name, "completeness", "", key, "" if text is None else text


def _survey_rows(name: str, survey: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    if not survey:
        return
    yield name, "survey", "", "responses", survey["responses"]
    for question, entry in survey["questions"].items():
        for answer, value in entry["answers"].items():
            yield name, "survey", question, answer, value
        for key in SUPPRESSION:
            yield name, "survey", question, f"_{key}", entry[key]


def to_csv(merged: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for period in merged:
        writer.writerows(csv_rows(period))
    return out.getvalue()
