"""The report schema: an allow-list of figure keys per schema version, and the envelope.

Both sides use this module: the appliance builds only these keys, the hub refuses any
other. A later part of the appliance adds its figures in a new schema version; the hub
keeps accepting every version it knows, so appliances of different releases coexist.

Every figure is an integer. Survey keys (`survey.*`) travel only in month reports.
"""

from __future__ import annotations

import re
from typing import Any

from appliance.period import Period
from appliance.survey.questions import QUESTIONS

PURPOSES = ("learning_ict", "job_search", "leisure_culture_info", "housing_elearning", "admin_procedures")
SERVICES = ("computer", "mediator", "printing", "wifi", "training")
SOURCES = ("walk_in", "booking", "queue", "import")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOUR_BANDS = tuple(f"{hour:02d}" for hour in range(24)) + ("unknown",)
SUPPRESSION_KEYS = ("_total", "_suppressed_cells", "_suppressed_sum")
MAX_FIGURE = 10**9


def _desk_keys() -> set[str]:
    keys = {"visits.total", "hours.open_minutes", "hours.mediator_minutes", "capacity.computers"}
    keys |= {f"visits.weekday.{d}" for d in WEEKDAYS}
    keys |= {f"visits.hour.{h}" for h in HOUR_BANDS}
    keys |= {f"visits.purpose.{p}" for p in PURPOSES}
    keys |= {f"visits.source.{s}" for s in SOURCES}
    keys |= {f"visits.service.{s}" for s in SERVICES}
    return keys


def _survey_keys() -> set[str]:
    keys = {"survey.responses"}
    for question in QUESTIONS:
        keys |= {f"survey.{question.code}.{option}" for option in question.options}
        keys |= {f"survey.{question.code}.{suffix}" for suffix in SUPPRESSION_KEYS}
    return keys


# Schema 2 adds the domains that came after the desk and the survey. Each domain fills in
# its own function; the headline keys the hub's dashboard shows are named in the comment.


def _booking_keys() -> set[str]:
    # training.minutes, training.sessions, training.participants, bookings.*
    keys = {"training.sessions", "training.minutes", "training.participants"}
    keys |= {f"bookings.{kind}" for kind in ("seat", "help", "workshop")}
    keys |= {"bookings.no_show", "bookings.cancelled", "bookings.checked_in", "bookings.waitlist_promoted"}
    return keys


def _queue_keys() -> set[str]:
    # queue.tickets, queue.served, queue.absent, queue.wait_minutes
    return {"queue.tickets", "queue.served", "queue.absent", "queue.wait_minutes"}


def _printing_keys() -> set[str]:
    # print.pages.bw, print.pages.colour, print.jobs, print.refunds
    return {"print.pages.bw", "print.pages.colour", "print.jobs", "print.refunds", "print.price_cents"}


def _wifi_keys() -> set[str]:
    # wifi.sessions
    return {"wifi.sessions", "wifi.vouchers_used", "wifi.resumes", "wifi.minutes", "wifi.megabytes"}


def _lending_keys() -> set[str]:
    # loans.checkouts, loans.days, loans.overdue, loans.lost, devices.*
    from appliance.config import DEVICE_KINDS

    keys = {"loans.checkouts", "loans.onsite", "loans.group", "loans.days", "loans.overdue", "loans.lost",
            "devices.days"}
    keys |= {f"devices.kind.{kind}" for kind in DEVICE_KINDS}
    keys |= {f"devices.status.{s}" for s in ("available", "on_loan", "maintenance", "lost", "retired")}
    return keys


_V1 = frozenset(_desk_keys() | _survey_keys())
SCHEMAS: dict[int, frozenset[str]] = {
    1: _V1,
    2: _V1 | _booking_keys() | _queue_keys() | _printing_keys() | _wifi_keys() | _lending_keys(),
}
CURRENT_SCHEMA = max(SCHEMAS)
ENVELOPE = {
    "protocol": str, "schema": int, "hub": str, "epn": str, "key_id": str, "period": str,
    "sequence": int, "report_id": str, "created_at": str, "figures": dict,
}
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}", re.ASCII)
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)


class SchemaError(ValueError):
    """The report is not allowed by the schema; the message says which field and why."""


def is_survey_key(key: str) -> bool:
    return key.startswith("survey.")


def _check_envelope(body: Any) -> None:
    if not isinstance(body, dict):
        raise SchemaError("the report must be a JSON object")
    extra = sorted(set(body) - set(ENVELOPE))
    if extra:
        raise SchemaError(f"field {extra[0]!r} is not part of a report")
    for field, kind in ENVELOPE.items():
        value = body.get(field)
        if value is None:
            raise SchemaError(f"field {field!r} is missing")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise SchemaError(f"field {field!r} must be {kind.__name__}")
    for field in ("hub", "epn", "key_id", "report_id"):
        if not _ID.fullmatch(body[field]):
            raise SchemaError(f"field {field!r} has characters outside A-Z a-z 0-9 _ . : -")
    if not _CREATED.fullmatch(body["created_at"]):
        raise SchemaError("field 'created_at' must look like 2026-11-24T03:00:00Z")
    if body["sequence"] < 1:
        raise SchemaError("field 'sequence' must be 1 or more")


def validate_report(body: Any) -> Period:
    """Check a parsed report against the envelope and the allow-list; return its period."""
    _check_envelope(body)
    if body["protocol"] != "epn-report/1":
        raise SchemaError(f"unknown protocol {body['protocol'][:40]!r}")
    allowed = SCHEMAS.get(body["schema"])
    if allowed is None:
        raise SchemaError(f"unknown schema version {body['schema']}")
    try:
        period = Period.parse(body["period"])
    except ValueError as error:
        raise SchemaError(str(error)) from None
    for key, value in body["figures"].items():
        if key not in allowed:
            raise SchemaError(f"figure {key[:80]!r} is not in schema {body['schema']}")
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaError(f"figure {key!r} must be an integer")
        if not 0 <= value <= MAX_FIGURE:
            raise SchemaError(f"figure {key!r} is out of range")
        if is_survey_key(key) and period.kind != "month":
            raise SchemaError("survey figures travel only in month reports")
    return period
