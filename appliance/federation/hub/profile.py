"""One EPN as the coordination follows it: identity, key, reports expected and received on
time, the label's criteria for a period, and plausibility flags. Three queries."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from peewee import fn

from appliance.federation.hub.dashboard import (
    headlines,
    history_periods,
    label_criteria,
    rate,
    timeliness,
    timeliness_status,
    trend_periods,
)
from appliance.federation.hub.models import EPN, Key, Report
from appliance.federation.hub.plausibility import check_report
from appliance.federation.keys import fingerprint
from appliance.municipalities import commune_label
from appliance.period import Period


def active_key(epn_id: str) -> Key | None:
    """The EPN's newest key that is not revoked."""
    return (Key.select().where((Key.epn == epn_id) & Key.revoked_at.is_null())
            .order_by(Key.created_at.desc()).first())


def last_received() -> dict[str, datetime]:
    """Each EPN's last report received (one grouped query), for the list of EPNs."""
    query = Report.select(Report.epn, fn.MAX(Report.received_at)).group_by(Report.epn).tuples()
    return {epn: at for epn, at in query}


def epn_profile(epn_id: str, period: Period, tz: ZoneInfo, on_time_days: int, now: datetime,
                language: str = "fr") -> dict[str, Any] | None:
    """Everything the EPN's page shows for `period`, or None for an unknown EPN.
    `now` is naive UTC."""
    epn = EPN.get_or_none(EPN.id == epn_id)
    if epn is None:
        return None
    key = active_key(epn_id)
    reports = {name: (json.loads(figures), received)
               for name, figures, received in Report.select(Report.period, Report.figures, Report.received_at)
               .where(Report.epn == epn_id).tuples()}
    # Reports sent together (history at enrolment) are told apart by their period's end.
    last = max(reports.items(), key=lambda item: (item[1][1], Period.parse(item[0]).end), default=None)
    window = trend_periods(period)
    rows = timeliness(window, tz, on_time_days, now, epn=epn_id)
    for row in rows:
        row["status"] = timeliness_status(row)
    counted = [row for row in rows if row["expected"]]
    figures = reports.get(str(period), ({}, None))[0]
    return {
        "epn": {"id": epn.id, "name": epn.name, "commune": epn.commune,
                "commune_name": commune_label(epn.commune, language), "postal_code": epn.postal_code,
                "organiser": epn.organiser, "active": epn.active, "enrolled_at": epn.enrolled_at},
        "key": {"key_id": key.key_id, "fingerprint": fingerprint(bytes(key.public_key)),
                "created_at": key.created_at} if key else None,
        "last_report": {"period": last[0], "received_at": last[1][1]} if last else None,
        "period": str(period),
        "reported": str(period) in reports,
        "headlines": headlines(figures),
        "criteria": label_criteria(figures, period),
        "timeliness": rows,
        "timeliness_summary": {
            "expected": len(counted), "on_time": sum(r["on_time"] for r in counted),
            "late": sum(r["late"] for r in counted), "missing": sum(r["missing"] for r in counted),
            "completeness": rate(sum(r["on_time"] + r["late"] for r in counted), len(counted)),
            "timeliness": rate(sum(r["on_time"] for r in counted), len(counted)),
        },
        "flags": _flags(epn_id, sorted({period, *window}, key=lambda p: p.start, reverse=True), reports),
    }


def _flags(epn_id: str, periods: list[Period], reports: dict[str, tuple[dict[str, int], Any]],
           ) -> list[dict[str, Any]]:
    flags = []
    for period in periods:
        if str(period) not in reports:
            continue
        history = [reports[str(p)][0] for p in history_periods(period) if str(p) in reports]
        flags.extend(flag.as_dict() for flag in check_report(epn_id, str(period), reports[str(period)][0], history))
    return flags
