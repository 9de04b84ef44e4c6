"""Federation-wide figures of a period, from that period's own reports only.

- totals: per figure key, the sum across the EPNs that reported it (a key no EPN
  reported is absent, never 0); the same per municipality; and each EPN's own figures;
- the weekday table: per EPN, a week's visits of that weekday, or for a month or a year
  the mean daily visits of that weekday (value / number of such days in the period);
  then the mean, minimum, maximum and sum across the EPNs that reported, and the same
  for each EPN's weekly total;
- the survey: each breakdown summed across EPNs with its suppressed remainder
  (`_total`, `_suppressed_cells`, `_suppressed_sum`); survey figures travel in month
  reports only, so a year's survey is the sum of its months' reports;
- completeness: reports expected (EPNs active and enrolled before the period ended)
  against received, and received on time (within `hub.on_time_days` of its end).

Stored figures are integers; means here are floats, rounded to two decimals.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from appliance.federation.hub.epns import naive_utc
from appliance.federation.hub.ingest import period_end
from appliance.federation.hub.db import database
from appliance.federation.hub.models import EPN
from appliance.federation.schema import SUPPRESSION_KEYS, WEEKDAYS, is_survey_key
from appliance.municipalities import commune_label
from appliance.period import Period


@dataclass(frozen=True)
class EpnReport:
    """One EPN's current report of a period, as the merge needs it."""

    epn: str
    name: str
    commune: str
    sequence: int
    first_received_at: datetime
    received_at: datetime
    figures: dict[str, int]


def _timestamp(value: Any) -> datetime:
    # PostgreSQL gives datetimes; SQLite gives the text peewee stored.
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _report_rows(names: list[str]) -> Iterable[tuple[Any, ...]]:
    """(period, sequence, figures text, received, first received, epn, name, commune) rows.

    A raw cursor: for a year's dashboard (13,000 rows for 1,000 EPNs) peewee's row
    conversion cost more than the merge itself.
    """
    placeholders = ", ".join([database.obj.param] * len(names))
    return database.execute_sql(
        'SELECT r."period", r."sequence", r."figures", r."received_at", r."first_received_at", '
        'e."id", e."name", e."commune" FROM "hub_report" AS r JOIN "hub_epn" AS e ON r."epn_id" = e."id" '
        f'WHERE r."period" IN ({placeholders}) ORDER BY e."id"', names)


def load_reports(periods: Iterable[Period]) -> dict[str, list[EpnReport]]:
    """The current reports of `periods`, by period name, in EPN order."""
    names = [str(period) for period in periods]
    out: dict[str, list[EpnReport]] = {name: [] for name in names}
    for period, sequence, figures, received, first, epn_id, name, commune in _report_rows(names):
        out[period].append(EpnReport(epn_id, name, commune, sequence, _timestamp(first), _timestamp(received),
                                     json.loads(figures)))
    return out


def load_survey_reports(periods: Iterable[Period]) -> list[EpnReport]:
    """The reports of `periods` that carry survey figures, with only those figures: a
    year's survey sums its months, and most of a month's figures are not the survey's."""
    out = []
    for _, sequence, figures, received, first, epn_id, name, commune in _report_rows([str(p) for p in periods]):
        if '"survey.' not in figures:
            continue
        survey = {key: value for key, value in json.loads(figures).items() if key.startswith("survey.")}
        out.append(EpnReport(epn_id, name, commune, sequence, _timestamp(first), _timestamp(received), survey))
    return out


def merge_period(period: Period, tz: ZoneInfo, on_time_days: int) -> dict[str, Any]:
    """Everything the hub knows of one period, merged (see the module's docstring)."""
    reports = load_reports([period])[str(period)]
    survey_reports = load_survey_reports(_months_of(period)) if period.kind == "year" else reports
    deadline = period_end(period, tz) + timedelta(days=on_time_days)
    return {
        "period": str(period),
        "kind": period.kind,
        "first_day": period.start.isoformat(),
        "last_day": (period.end - timedelta(days=1)).isoformat(),
        "reports": len(reports),
        "totals": sum_figures(r.figures for r in reports),
        "municipalities": per_municipality(reports),
        "epns": {r.epn: _epn_entry(r, naive_utc(deadline)) for r in reports},
        "weekdays": weekday_table(period, reports),
        "survey": survey_breakdowns(survey_reports) if period.kind != "week" else {},
        "completeness": completeness(period, reports, tz, naive_utc(deadline)),
    }


def merge_range(periods: list[Period], tz: ZoneInfo, on_time_days: int) -> list[dict[str, Any]]:
    return [merge_period(period, tz, on_time_days) for period in periods]


def _months_of(year: Period) -> list[Period]:
    return Period.range(f"{year.start.year}-01", f"{year.start.year}-12")


def sum_figures(all_figures: Iterable[dict[str, int]]) -> dict[str, int]:
    """Per key, the sum over the reports that have it; survey keys are left out."""
    totals: dict[str, int] = defaultdict(int)
    for figures in all_figures:
        for key, value in figures.items():
            if not is_survey_key(key):
                totals[key] += value
    return dict(sorted(totals.items()))


def per_municipality(reports: list[EpnReport]) -> dict[str, Any]:
    by_commune: dict[str, list[EpnReport]] = defaultdict(list)
    for report in reports:
        by_commune[report.commune].append(report)
    return {
        nis: {"name": commune_label(nis), "epns": len(items), "figures": sum_figures(r.figures for r in items)}
        for nis, items in sorted(by_commune.items())
    }


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _epn_entry(report: EpnReport, deadline: datetime) -> dict[str, Any]:
    return {"name": report.name, "commune": report.commune, "sequence": report.sequence,
            "received_at": _stamp(report.received_at), "on_time": report.first_received_at <= deadline,
            "figures": dict(sorted(report.figures.items()))}


def weekdays_in(period: Period) -> dict[str, int]:
    """How many Mondays, Tuesdays, ... the period has."""
    counts = dict.fromkeys(WEEKDAYS, 0)
    for day in period.days():
        counts[WEEKDAYS[day.weekday()]] += 1
    return counts


def _statistics(values: list[float]) -> dict[str, Any]:
    total = sum(values)
    return {"epns": len(values), "mean": _round(total / len(values)), "min": _round(min(values)),
            "max": _round(max(values)), "sum": _round(total)}


def _round(value: float) -> float | int:
    return value if isinstance(value, int) else round(value, 2)


def weekday_table(period: Period, reports: list[EpnReport]) -> dict[str, Any]:
    """Per weekday (and the weekly total), statistics across the EPNs that reported it."""
    days = weekdays_in(period)
    columns: dict[str, list[float]] = defaultdict(list)
    for report in reports:
        week_total: float | None = None
        for day in WEEKDAYS:
            value = report.figures.get(f"visits.weekday.{day}")
            if value is None:
                continue
            # A week has one of each day: its values stay integers.
            daily = value if period.kind == "week" else value / days[day]
            columns[day].append(daily)
            week_total = daily + (week_total or 0)
        if week_total is not None:
            columns["total"].append(week_total)
    return {day: _statistics(columns[day]) for day in (*WEEKDAYS, "total") if columns[day]}


def _new_question() -> dict[str, Any]:
    return {"reports": 0, "answers": defaultdict(int), "without_suppressed_sum": 0,
            **{name.lstrip("_"): 0 for name in SUPPRESSION_KEYS}}


def survey_breakdowns(reports: list[EpnReport]) -> dict[str, Any]:
    """Each question's cells and suppressed remainders summed across month reports."""
    questions: dict[str, dict[str, Any]] = {}
    responses = 0
    answered = 0
    for report in reports:
        carries_survey = False
        for key, value in report.figures.items():
            if not key.startswith("survey."):  # is_survey_key, inlined: the hot loop of a year
                continue
            carries_survey = True
            if key == "survey.responses":
                responses += value
                continue
            _, question, answer = key.split(".", 2)
            entry = questions.setdefault(question, _new_question())
            if answer in SUPPRESSION_KEYS:
                entry[answer.lstrip("_")] += value
            else:
                entry["answers"][answer] += value
            if answer == "_total":
                entry["reports"] += 1
                # A multiple-answer question answered by fewer than k people travels
                # without its suppressed sum: the summed remainder is then a lower bound.
                entry["without_suppressed_sum"] += f"survey.{question}._suppressed_sum" not in report.figures
        answered += carries_survey
    for entry in questions.values():
        entry["answers"] = dict(sorted(entry["answers"].items()))
    return {"reports": answered,
            "responses": responses, "questions": dict(sorted(questions.items()))}


def completeness(period: Period, reports: list[EpnReport], tz: ZoneInfo, deadline: datetime,
                 ) -> dict[str, Any]:
    """Expected reports (EPNs active and enrolled before the period ended) vs received."""
    ended = naive_utc(period_end(period, tz))
    expected = [epn_id for (epn_id,) in EPN.select(EPN.id)
                .where((EPN.active == True) & EPN.enrolled_at.is_null(False) & (EPN.enrolled_at < ended))  # noqa: E712
                .order_by(EPN.id).tuples()]
    by_epn = {report.epn: report for report in reports}
    received = [epn for epn in expected if epn in by_epn]
    on_time = [epn for epn in received if by_epn[epn].first_received_at <= deadline]
    return {
        "expected": len(expected),
        "received": len(received),
        "on_time": len(on_time),
        "rate": round(len(received) / len(expected), 4) if expected else None,
        "on_time_deadline": _stamp(deadline),
        "missing": [epn for epn in expected if epn not in by_epn],
        "late": [epn for epn in received if epn not in on_time],
        # Reports of EPNs enrolled after the period (history sent at enrolment): counted
        # in the figures, not in the rate.
        "unexpected": sorted(set(by_epn) - set(expected)),
    }
