"""Reports: the figures of a closed period in the envelope of docs/protocol.md, signed,
and written to the outbox in the same transaction that takes the next sequence number.

What goes in: every domain's figures (`registry.collect_figures`), the EPN's capacity,
and for months the survey's breakdowns, small cells already suppressed by the survey.
A month's survey part is final once queued: a later report of the month (a correction of
its visits) repeats it unchanged, so no difference between two reports reveals a cell.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta, timezone

from appliance.config import Config
from appliance.db import database
from appliance.federation import keys, outbox
from appliance.federation.canonical import canonical_bytes, parse_strict
from appliance.federation.link import FederationError, current_link, signing_key
from appliance.federation.schema import CURRENT_SCHEMA, SchemaError, is_survey_key, validate_report
from appliance.hardware.clock import Clock, FakeClock, clock_for
from appliance.models import FederationLink, OutboxReport
from appliance.period import Period
from appliance.registry import collect_figures

PROTOCOL = "epn-report/1"
# A closed period is checked again for corrections (late imports, corrected visits) during
# this long after it ends; older periods are built only when they have no report at all.
CORRECTION_WINDOW = timedelta(days=45)
KIND_ORDER = {"week": 0, "month": 1, "year": 2}


class PeriodNotClosed(FederationError):
    """Only closed periods are reported."""


class ClockNotSynchronised(FederationError):
    """No report is built on a clock that may be wrong."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return utc_now()
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def check_clock(clock: Clock) -> None:
    status = clock.status()
    if not status.synchronised:
        raise ClockNotSynchronised(
            f"the system clock is not synchronised ({status.source}); no report is built "
            "until it is (or pass --trust-clock if the date and time are right)"
        )


def _survey_figures(period: Period, k: int) -> dict[str, int]:
    try:
        from appliance.survey.breakdowns import survey_figures
    except ModuleNotFoundError as error:
        if error.name not in ("appliance.survey.breakdowns",):
            raise
        return {}
    try:
        figures = survey_figures(period, k)
    except ValueError as error:  # e.g. a small_cell_k the survey cannot protect
        raise FederationError(f"{period}: survey figures: {error}") from None
    stray = [key for key in figures if not is_survey_key(key)]
    if stray:
        raise RuntimeError(f"the survey reported {stray[0]!r}, which is not a survey figure")
    return figures


def report_figures(period: Period, config: Config) -> dict[str, int]:
    """Every figure of the period as the appliance's data says now (zeros explicit)."""
    figures = collect_figures(period)
    # Until the seats of issue 3 register their own figures, capacity is a setting.
    figures["capacity.computers"] = config.site.computers
    if period.kind == "month":
        figures.update(_survey_figures(period, config.federation.small_cell_k))
    return figures


def figures_digest(figures: dict[str, int]) -> str:
    return hashlib.sha256(canonical_bytes(figures)).hexdigest()


def final_survey_part(period: Period, first_sequence: int = 1) -> dict[str, int] | None:
    """The survey figures of the month's first report queued or sent to the current hub."""
    rows = (OutboxReport.select(OutboxReport.body)
            .where((OutboxReport.period == str(period))
                   & OutboxReport.status.in_((outbox.PENDING, outbox.SENT))
                   & (OutboxReport.sequence >= first_sequence))
            .order_by(OutboxReport.sequence))
    for row in rows:
        figures = parse_strict(bytes(row.body))["figures"]
        part = {key: value for key, value in figures.items() if is_survey_key(key)}
        if part:
            return part
    return None


def _with_final_survey(period: Period, figures: dict[str, int], first_sequence: int) -> dict[str, int]:
    if period.kind != "month":
        return figures
    final = final_survey_part(period, first_sequence)
    if final is None:
        return figures
    kept = {key: value for key, value in figures.items() if not is_survey_key(key)}
    return {**kept, **final}


def envelope(link: FederationLink, period: Period, figures: dict[str, int],
             sequence: int, now: datetime) -> dict:
    """The report body of docs/protocol.md (not yet canonical, not yet signed)."""
    return {
        "protocol": PROTOCOL,
        "schema": CURRENT_SCHEMA,
        "hub": link.hub_id,
        "epn": link.epn_id,
        "key_id": link.key_id,
        "period": str(period),
        "sequence": sequence,
        "report_id": str(uuid.uuid4()),
        "created_at": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "figures": figures,
    }


def _unchanged(latest: OutboxReport | None, digest: str, retry_refused: bool) -> bool:
    if latest is None or outbox.superseded_locally(latest):
        return False
    if retry_refused and latest.status == outbox.PARKED:
        return False
    return latest.figures_digest == digest


def build_report(period: Period, config: Config, *, now: datetime | None = None,
                 clock: Clock | None = None, if_changed: bool = False,
                 retry_refused: bool = False) -> dict | None:
    """Build, sign and queue the report of a closed `period`; return its body.

    With `if_changed`, nothing is queued (None is returned) when the figures are those of
    the period's latest report to the current hub, unless that one was set aside unsent at
    a new enrolment, or (with `retry_refused`) the hub refused it. Raises FederationError
    subclasses with a one-line reason.
    """
    now = _aware(now)
    check_clock(clock or clock_for(config))
    today = now.astimezone(config.tz).date()
    if not period.is_closed(today):
        raise PeriodNotClosed(f"{period} is not over yet: it can be reported from "
                              f"{period.end.isoformat()}")
    current_link()
    fresh = report_figures(period, config)
    # IMMEDIATE: the sequence is read and advanced under the write lock, with the outbox row.
    with database.atomic("IMMEDIATE"):
        link = current_link()
        figures = _with_final_survey(period, fresh, link.first_sequence)
        digest = figures_digest(figures)
        latest = outbox.latest_report(str(period), link.first_sequence)
        if if_changed and _unchanged(latest, digest, retry_refused):
            return None
        body = envelope(link, period, figures, link.next_sequence, now)
        try:
            validate_report(body)
        except SchemaError as error:
            raise FederationError(f"{period}: the report would be refused: {error}") from None
        data = canonical_bytes(body)
        OutboxReport.create(
            report_id=body["report_id"], period=body["period"], sequence=body["sequence"],
            body=data, signature=keys.sign(signing_key(config.data_dir, link), keys.REPORT_CONTEXT, data),
            figures_digest=digest, created_at=_naive_utc(now),
            next_attempt_at=outbox.first_attempt_at(link.epn_id, _naive_utc(now)),
        )
        FederationLink.update(next_sequence=FederationLink.next_sequence + 1).where(
            FederationLink.id == link.id).execute()
    return body


def periods_to_report(first_day: date, today: date) -> list[Period]:
    """Every week, month and year that contains a day from `first_day` and is closed,
    ordered by end (a week before the month and year that end with it)."""
    periods = []
    for kind in KIND_ORDER:
        period = Period.containing(first_day, kind)
        while period.is_closed(today):
            periods.append(period)
            period = period.next()
    return sorted(periods, key=lambda p: (p.end, KIND_ORDER[p.kind]))


def first_reported_day(link: FederationLink, config: Config) -> date:
    enrolled = link.enrolled_at.replace(tzinfo=timezone.utc).astimezone(config.tz).date()
    return enrolled - timedelta(weeks=config.federation.backfill_weeks)


def build_due(config: Config, *, now: datetime | None = None, clock: Clock | None = None,
              force: bool = False) -> list[dict] | None:
    """The daily pass: report each closed period since the backfill start that has no
    report yet, and queue a correction for a recent one whose figures changed.

    Returns the bodies queued, or None when the pass already ran today (local day).
    """
    now = _aware(now)
    today = now.astimezone(config.tz).date()
    link = current_link()
    if link.built_on == today and not force:
        return None
    check_clock(clock or clock_for(config))
    trusted = FakeClock(True, "checked at the start of the pass")
    latest = outbox.latest_per_period(link.first_sequence)
    built = []
    for period in periods_to_report(first_reported_day(link, config), today):
        row = latest.get(str(period))
        missing = row is None or outbox.superseded_locally(row)
        if not missing and period.end < today - CORRECTION_WINDOW:
            continue
        body = build_report(period, config, now=now, clock=trusted, if_changed=True)
        if body is not None:
            built.append(body)
    FederationLink.update(built_on=today).where(FederationLink.id == link.id).execute()
    return built
