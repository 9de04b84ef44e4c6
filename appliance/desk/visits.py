"""Walk-in visits: log one in one tap, correct it, delete it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from appliance.db import database
from appliance.errors import N_, InvalidInput, NotFound
from appliance.models import Visit

PURPOSES = (
    "learning_ict",
    "job_search",
    "leisure_culture_info",
    "housing_elearning",
    "admin_procedures",
)
SERVICES = ("computer", "mediator", "printing", "wifi", "training")
SOURCES = ("walk_in", "booking", "queue", "import")
# Sources whose visits the desk may correct; the others are owned by their own domain.
EDITABLE_SOURCES = ("walk_in",)


def check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise InvalidInput("purpose", N_("Choose why the person came."))
    return purpose


def check_services(services: list[str] | tuple[str, ...] | set[str]) -> set[str]:
    unknown = set(services) - set(SERVICES)
    if unknown:
        raise InvalidInput("services", N_("Unknown service: %(name)s."), name=sorted(unknown)[0][:40])
    return set(services)


def check_hour(hour: int | None) -> int | None:
    if hour is not None and not 0 <= hour <= 23:
        raise InvalidInput("hour", N_("The hour must be between 0 and 23."))
    return hour


def _service_columns(services: set[str]) -> dict[str, bool]:
    return {f"used_{name}": name in services for name in SERVICES}


def services_of(visit: Visit) -> list[str]:
    return [name for name in SERVICES if getattr(visit, f"used_{name}")]


def log_visit(
    purpose: str, services: list[str] | set[str], now: datetime, source: str = "walk_in"
) -> Visit:
    """Record one visit now (local time); `services` says what the person used."""
    check_purpose(purpose)
    chosen = check_services(services)
    if source not in SOURCES:
        raise InvalidInput("source", N_("Unknown source of the visit."))
    return Visit.create(
        day=now.date(), hour=now.hour, purpose=purpose, source=source, **_service_columns(chosen)
    )


def arrival_visit(
    purpose: str, services: list[str] | set[str], now: datetime, source: str, attach_to: int | None = None
) -> Visit:
    """The visit of a person arriving through another door (booking check-in, help queue).

    A person is counted once a day: with `attach_to`, the visit already logged for them
    today gains the services and no new visit is made; otherwise a new visit of `source`.
    Call it inside the caller's transaction, so the visit and the caller's record change
    together.
    """
    chosen = check_services(services)
    if attach_to is None:
        return log_visit(purpose, chosen, now, source)
    visit = Visit.get_or_none(Visit.id == attach_to)
    if visit is None or visit.day != now.date():
        raise InvalidInput("visit", N_("Choose a visit logged today."))
    for name in chosen:
        setattr(visit, f"used_{name}", True)
    visit.save()
    return visit


def _editable(visit_id: int) -> Visit:
    visit = Visit.get_or_none(Visit.id == visit_id)
    if visit is None:
        raise NotFound(visit_id)
    if visit.source not in EDITABLE_SOURCES:
        raise InvalidInput(
            "visit",
            N_("This visit was not logged at the desk; correct it where it came from."),
        )
    return visit


def correct_visit(visit_id: int, purpose: str, services: list[str] | set[str], hour: int | None) -> Visit:
    """Change a walk-in visit's purpose, services or hour."""
    check_purpose(purpose)
    chosen = check_services(services)
    check_hour(hour)
    with database.atomic():
        visit = _editable(visit_id)
        visit.purpose = purpose
        visit.hour = hour
        for column, value in _service_columns(chosen).items():
            setattr(visit, column, value)
        visit.save()
    return visit


def delete_visit(visit_id: int) -> None:
    """Delete a visit logged by mistake."""
    with database.atomic():
        _editable(visit_id).delete_instance()


def visits_on(day: date, limit: int | None = None) -> list[Visit]:
    """The day's visits, latest first (the `limit` latest when given)."""
    return list(Visit.select().where(Visit.day == day).order_by(Visit.id.desc()).limit(limit))


def get_visit(visit_id: int) -> Visit:
    visit = Visit.get_or_none(Visit.id == visit_id)
    if visit is None:
        raise NotFound(visit_id)
    return visit


@dataclass(frozen=True)
class DayCount:
    total: int
    by_purpose: dict[str, int]


def count_on(day: date) -> DayCount:
    from peewee import fn

    rows = (
        Visit.select(Visit.purpose, fn.COUNT(Visit.id).alias("n"))
        .where(Visit.day == day)
        .group_by(Visit.purpose)
        .tuples()
    )
    by_purpose = {purpose: 0 for purpose in PURPOSES}
    for purpose, n in rows:
        by_purpose[purpose] = by_purpose.get(purpose, 0) + n
    return DayCount(sum(by_purpose.values()), by_purpose)
