"""What the coordination's dashboard, the public page, the exports and the yearly summary
show, assembled from `merge.merge_period` (no figure is computed twice, so the page, the
CSV, the JSON and the figures API agree).

One period's dashboard loads that period's reports once (through merge_period), and the
reports of the trend and history periods in one more query; it never queries per EPN.

A figure no EPN reported is None ("not reported"), never 0.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from appliance.errors import N_, InvalidInput
from appliance.federation.hub.accounts import HubAccount, audit
from appliance.federation.hub.db import database, execute
from appliance.federation.hub.export import csv_rows
from appliance.federation.hub.merge import merge_period
from appliance.federation.hub.models import Publication
from appliance.federation.hub.plausibility import CHECKED_KEYS, Flag, check_period
from appliance.federation.schema import PURPOSES, WEEKDAYS
from appliance.period import Period

TREND_LENGTH = 12  # the trend charts' periods: the last 12 weeks or months
HISTORY_LENGTH = 12  # earlier periods of the same kind that plausibility compares with


@dataclass(frozen=True)
class Headline:
    """A figure of the federation at a glance: the sum of `keys`, divided by `divisor`."""

    code: str
    keys: tuple[str, ...]
    divisor: int = 1


HEADLINES = (
    Headline("visits", ("visits.total",)),
    Headline("training_hours", ("training.minutes",), 60),
    Headline("training_participants", ("training.participants",)),
    Headline("loans", ("loans.checkouts",)),
    Headline("pages_printed", ("print.pages.bw", "print.pages.colour")),
    Headline("wifi_sessions", ("wifi.sessions",)),
)


def headline_value(figures: dict[str, int], headline: Headline) -> int | float | None:
    """The headline's value, or None when none of its keys was reported."""
    present = [figures[key] for key in headline.keys if key in figures]
    if not present:
        return None
    total = sum(present)
    return total if headline.divisor == 1 else round(total / headline.divisor, 1)


def headlines(figures: dict[str, int]) -> dict[str, int | float | None]:
    return {headline.code: headline_value(figures, headline) for headline in HEADLINES}


def default_period(today: date) -> Period:
    """The last closed month."""
    return Period.containing(today, "month").previous()


def parse_period(text: str | None, today: date) -> Period:
    """The period asked for (default: the last closed month); InvalidInput if unknown."""
    if not text:
        return default_period(today)
    try:
        return Period.parse(text[:20])
    except (ValueError, OverflowError):
        raise InvalidInput("period", N_("This is not a period: use 2026-W47, 2026-11 or 2026.")) from None


def trend_periods(period: Period, length: int = TREND_LENGTH) -> list[Period]:
    """The trend of a week or month: the `length` periods up to it; of a year: its months."""
    if period.kind == "year":
        return Period.range(f"{period.start.year}-01", f"{period.start.year}-12")
    periods = [period]
    while len(periods) < length:
        periods.insert(0, periods[0].previous())
    return periods


def history_periods(period: Period, length: int = HISTORY_LENGTH) -> list[Period]:
    """The `length` periods of the same kind before `period`, oldest first."""
    periods = [period.previous()]
    while len(periods) < length:
        periods.insert(0, periods[0].previous())
    return periods


def purposes(totals: dict[str, int]) -> list[dict[str, Any]]:
    """Visits per purpose with its share of the visits whose purpose is known (percent)."""
    counted = sum(totals.get(f"visits.purpose.{code}", 0) for code in PURPOSES)
    rows = []
    for code in PURPOSES:
        value = totals.get(f"visits.purpose.{code}")
        share = round(100 * value / counted, 1) if value is not None and counted else None
        rows.append({"code": code, "value": value, "share": share})
    return rows


def survey_tables(survey: dict[str, Any], reports: list[dict[str, int]] | None = None) -> list[dict[str, Any]]:
    """Each question's cells in the questionnaire's order. A cell hidden by every EPN that
    answered the question is `None` (suppressed), never 0; one hidden by some of them is
    `partial`: its sum is a lower bound (known when the period's own reports carry the
    survey, i.e. a month; a year's come from its months)."""
    from appliance.survey.questions import QUESTIONS

    tables = []
    for question in QUESTIONS:
        entry = survey.get("questions", {}).get(question.code)
        if entry is None:
            continue
        answered = [f for f in reports or [] if f"survey.{question.code}._total" in f]
        cells = [{"option": option, "value": entry["answers"].get(option),
                  "partial": option in entry["answers"]
                  and any(f"survey.{question.code}.{option}" not in f for f in answered)}
                 for option in question.options]
        tables.append({"question": question.code, "multiple": question.multiple, "cells": cells,
                       "total": entry["total"], "suppressed_cells": entry["suppressed_cells"],
                       "suppressed_sum": entry["suppressed_sum"],
                       "lower_bound": entry["without_suppressed_sum"] > 0})
    return tables


def label_summary(merged_epns: dict[str, Any], period: Period) -> dict[str, dict[str, str]]:
    """Each reporting EPN's label criteria for the period (see `label_criteria`)."""
    return {epn: {row["code"]: row["status"] for row in label_criteria(entry["figures"], period)}
            for epn, entry in merged_epns.items()}


# The label's criteria: (code, figure, threshold, per week?). Hours are compared in minutes.
CRITERIA = (
    ("computers", "capacity.computers", 6, False),
    ("open_hours", "hours.open_minutes", 15 * 60, True),
    ("training_hours", "training.minutes", 6 * 60, True),
    ("mediator_hours", "hours.mediator_minutes", 6 * 60, True),
)


def weeks_in(period: Period) -> float:
    """The period's length in weeks (days / 7): a month has about 4.35."""
    return (period.end - period.start).days / 7


def label_criteria(figures: dict[str, int], period: Period) -> list[dict[str, Any]]:
    """Each criterion: its value (hours a week on average, or computers) and `met`,
    `not_met` or `not_reported`."""
    weeks = weeks_in(period)
    rows = []
    for code, key, threshold, per_week in CRITERIA:
        raw = figures.get(key)
        if raw is None:
            rows.append({"code": code, "key": key, "value": None, "threshold": threshold // 60 if per_week else threshold,
                         "status": "not_reported"})
            continue
        value = raw / weeks if per_week else raw
        rows.append({"code": code, "key": key, "value": _unit(value, per_week),
                     "threshold": threshold // 60 if per_week else threshold,
                     "status": "met" if value >= threshold else "not_met"})
    return rows


def _unit(value: float, per_week: bool) -> float | int:
    return round(value / 60, 1) if per_week else value


def build_dashboard(period: Period, tz: ZoneInfo, on_time_days: int, trends: bool = True,
                    loaded: dict[str, list[tuple[str, dict[str, int]]]] | None = None) -> dict[str, Any]:
    """Every table of one period's dashboard (the JSON export is this dict). `loaded`:
    the earlier periods' figures when the caller loaded them already (see build_range)."""
    merged = merge_period(period, tz, on_time_days)
    trend = trend_periods(period) if trends else []
    history = history_periods(period)
    if loaded is None:
        loaded = load_figures(list(dict.fromkeys([*history, *(p for p in trend if p != period)])))
    current = {epn: entry["figures"] for epn, entry in merged["epns"].items()}
    flags = check_period(str(period), current, figure_histories(history, loaded))
    return {
        "period": str(period),
        "kind": period.kind,
        "first_day": merged["first_day"],
        "last_day": merged["last_day"],
        "headlines": headlines(merged["totals"]),
        "completeness": merged["completeness"],
        "weekdays": merged["weekdays"],
        "purposes": purposes(merged["totals"]),
        "trend": [{"period": str(p), "reports": merged["reports"], **headlines(merged["totals"])} if p == period
                  else {"period": str(p), **headline_sums(loaded[str(p)])} for p in trend],
        "labels": label_summary(merged["epns"], period),
        "plausibility": [flag.as_dict() for flag in flags],
        "survey_tables": survey_tables(merged["survey"], [e["figures"] for e in merged["epns"].values()]
                                       if period.kind == "month" else None),
        "municipalities": {nis: {"name": entry["name"], "epns": entry["epns"], "headlines": headlines(entry["figures"])}
                           for nis, entry in merged["municipalities"].items()},
        "epns": _epn_rows(merged["epns"], period, flags),
        "merged": merged,
    }


def build_range(periods: list[Period], tz: ZoneInfo, on_time_days: int) -> list[dict[str, Any]]:
    """The dashboards of a period (with its trend) or of a range (without: the range is
    its own trend), loading the histories of the whole range in one query."""
    if len(periods) == 1:
        return [build_dashboard(periods[0], tz, on_time_days)]
    loaded = load_figures(list(dict.fromkeys(p for period in periods for p in history_periods(period))))
    return [build_dashboard(period, tz, on_time_days, trends=False, loaded=loaded) for period in periods]


def _epn_rows(epns: dict[str, Any], period: Period, flags: list[Flag]) -> list[dict[str, Any]]:
    flagged: dict[str, int] = {}
    for flag in flags:
        flagged[flag.epn] = flagged.get(flag.epn, 0) + 1
    rows = []
    for epn, entry in epns.items():
        criteria = label_criteria(entry["figures"], period)
        rows.append({"id": epn, "name": entry["name"], "commune": entry["commune"], "on_time": entry["on_time"],
                     "headlines": headlines(entry["figures"]),
                     "criteria_met": sum(1 for c in criteria if c["status"] == "met"),
                     "criteria": len(criteria), "flags": flagged.get(epn, 0)})
    return rows


# --- Trend and history: the earlier periods' reports, loaded once ----------------------
# A year of weekly reports from 1,000 EPNs is too much to parse whole: a raw query, and
# from each report's canonical JSON (sorted keys, no spaces, validated integer values)
# only the few figures needed (tests/hub/test_dashboard_data.py checks this against
# json.loads).


WANTED = tuple(sorted({key for headline in HEADLINES for key in headline.keys} | set(CHECKED_KEYS)))
_NEEDLES = tuple((key, f'"{key}":') for key in WANTED)
_DIGITS = re.compile(r"\d+")
_NEEDED = frozenset(WANTED)


def some_figures(text: str) -> dict[str, int]:
    """The WANTED figures of a report, from its canonical JSON (three times faster than
    json.loads, which builds every figure)."""
    out = {}
    for key, needle in _NEEDLES:
        at = text.find(needle)
        if at >= 0:
            digits = _DIGITS.match(text, at + len(needle))
            if digits is None:  # not the compact form the hub stores: read it whole
                return {k: v for k, v in json.loads(text).items() if k in _NEEDED}
            out[key] = int(digits[0])
    return out


def load_figures(periods: list[Period]) -> dict[str, list[tuple[str, dict[str, int]]]]:
    """(EPN, headline and checked figures) of each period's reports, by period name."""
    names = [str(p) for p in periods]
    out: dict[str, list[tuple[str, dict[str, int]]]] = {name: [] for name in names}
    if names:
        placeholders = ", ".join("?" for _ in names)
        for epn, name, figures in execute(f'SELECT "epn_id", "period", "figures" FROM "hub_report" '
                                          f'WHERE "period" IN ({placeholders})', tuple(names)):
            out[name].append((epn, some_figures(figures)))
    return out


def headline_sums(reports: list[tuple[str, dict[str, int]]]) -> dict[str, Any]:
    """The reports' count and headline figures (None: not reported by any)."""
    keys = {key for headline in HEADLINES for key in headline.keys}
    totals: dict[str, int] = {}
    for _, figures in reports:
        for key in keys & figures.keys():
            totals[key] = totals.get(key, 0) + figures[key]
    return {"reports": len(reports), **headlines(totals)}


def figure_histories(periods: list[Period], loaded: dict[str, list[tuple[str, dict[str, int]]]],
                     ) -> dict[str, list[dict[str, int]]]:
    """Each EPN's figures in `periods`, oldest first, as plausibility needs them."""
    out: dict[str, list[dict[str, int]]] = {}
    for period in periods:
        for epn, figures in loaded[str(period)]:
            out.setdefault(epn, []).append(figures)
    return out


# --- Exports: the long-form CSV of export.py, plus the dashboard's own tables ----------

def dashboard_rows(dashboard: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The CSV rows (period, section, scope, key, value) of every table of the dashboard.

    export.py's rows (totals, municipalities, EPNs, weekdays, survey, completeness), then:
    `headline` (empty value: not reported), `purpose_share` (percent), `trend` (scope: the
    trend's period), `label` (scope: EPN; met / not_met / not_reported) and
    `plausibility` (scope: EPN, key `figure:rule`, value: the history's median or the
    capacity bound the value was compared with).
    """
    name = dashboard["period"]
    yield from csv_rows(dashboard["merged"])
    for code, value in dashboard["headlines"].items():
        yield name, "headline", "", code, "" if value is None else value
    for row in dashboard["purposes"]:
        if row["share"] is not None:
            yield name, "purpose_share", "", row["code"], row["share"]
    for point in dashboard["trend"]:
        for code in ("reports", *(h.code for h in HEADLINES)):
            yield name, "trend", point["period"], code, "" if point[code] is None else point[code]
    for epn, criteria in dashboard["labels"].items():
        for code, status in criteria.items():
            yield name, "label", epn, code, status
    for flag in dashboard["plausibility"]:
        yield name, "plausibility", flag["epn"], f"{flag['key']}:{flag['rule']}", flag["reference"]


def export_document(hub: str, dashboards: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON export: one period's dashboard, or a range's as a list."""
    if len(dashboards) == 1:
        return {"hub": hub, **dashboards[0]}
    return {"hub": hub, "from": dashboards[0]["period"], "to": dashboards[-1]["period"], "periods": dashboards}


# --- Reports expected, received on time, late, missing -----------------------------------

def timeliness(periods: list[Period], tz: ZoneInfo, on_time_days: int, now: datetime,
               epn: str | None = None) -> list[dict[str, Any]]:
    """Per period: reports expected (EPNs active and enrolled before it ended), received
    on time, late, missing, and awaited (its deadline not passed yet); for the
    federation, or for one EPN. Two queries, whatever the number of periods. `now` is
    naive UTC."""
    from appliance.federation.hub.epns import naive_utc
    from appliance.federation.hub.ingest import period_end
    from appliance.federation.hub.models import EPN, Report

    epns = EPN.select(EPN.id, EPN.enrolled_at).where((EPN.active == True) & EPN.enrolled_at.is_null(False))
    query = Report.select(Report.epn, Report.period, Report.first_received_at).where(
        Report.period.in_([str(p) for p in periods]))
    if epn is not None:
        epns, query = epns.where(EPN.id == epn), query.where(Report.epn == epn)
    enrolled = list(epns.tuples())
    received: dict[str, dict[str, datetime]] = {}
    for epn_id, name, first in query.tuples():
        received.setdefault(name, {})[epn_id] = first
    rows = []
    for period in periods:
        ended = naive_utc(period_end(period, tz))
        deadline = ended + timedelta(days=on_time_days)
        got = received.get(str(period), {})
        expected = [epn_id for epn_id, at in enrolled if at < ended]
        on_time = sum(1 for e in expected if e in got and got[e] <= deadline)
        late = sum(1 for e in expected if e in got and got[e] > deadline)
        absent = len(expected) - on_time - late
        rows.append({"period": str(period), "closed": now >= ended, "expected": len(expected),
                     "on_time": on_time, "late": late,
                     "missing": absent if now >= deadline else 0,
                     "awaited": 0 if now >= deadline else absent,
                     "unexpected": len(set(got) - set(expected))})
    return rows


def timeliness_status(row: dict[str, Any]) -> str:
    """One EPN's period in one word: not_expected, on_time, late, missing, awaited."""
    for status in ("on_time", "late", "missing", "awaited"):
        if row[status]:
            return status
    return "unexpected" if row["unexpected"] else "not_expected"


def rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# --- Publication of closed periods on the public page ------------------------------------

def published_periods() -> list[str]:
    """The published periods, most recent first."""
    names = [p for (p,) in Publication.select(Publication.period).tuples()]
    return sorted(names, key=lambda name: Period.parse(name), reverse=True)


def is_published(period: Period) -> bool:
    return Publication.select().where(Publication.period == str(period)).exists()


def publish(period: Period, account: HubAccount, today: date, now: datetime) -> bool:
    """Publish a closed period (audited); False if it already was. `now` is naive UTC."""
    if not period.is_closed(today):
        raise InvalidInput("period", N_("Only a closed period can be published."))
    with database.atomic():
        if is_published(period):
            return False
        Publication.create(period=str(period), published_at=now, account=account.id)
        audit(account, "publish", str(period), now=now)
    return True


def unpublish(period: Period, account: HubAccount, now: datetime) -> bool:
    """Take a period off the public page (audited); False if it was not published."""
    with database.atomic():
        deleted = Publication.delete().where(Publication.period == str(period)).execute()
        if deleted:
            audit(account, "unpublish", str(period), now=now)
    return bool(deleted)


def public_view(dashboard: dict[str, Any]) -> dict[str, Any]:
    """What the public page may show of a dashboard: federation-level figures only (no
    EPN's own figures, no survey, no plausibility flags)."""
    completeness = dashboard["completeness"]
    return {
        "period": dashboard["period"], "kind": dashboard["kind"], "municipalities": dashboard["municipalities"],
        "first_day": dashboard["first_day"], "last_day": dashboard["last_day"],
        "headlines": dashboard["headlines"], "weekdays": dashboard["weekdays"],
        "purposes": dashboard["purposes"],
        "completeness": {"expected": completeness["expected"], "received": completeness["received"]},
        "reports": dashboard["merged"]["reports"],
    }


WEEKDAY_ROWS = (*WEEKDAYS, "total")
