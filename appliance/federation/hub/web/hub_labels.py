"""Translated labels of the dashboard's codes: headline figures, label criteria,
timeliness, plausibility rules, organisers, survey questions and options."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from appliance.municipalities import commune_label
from appliance.web.labels import PURPOSE_LABELS, WEEKDAY_LABELS
from appliance.web.survey_labels import QUESTION_TEXT, option_label

HEADLINE_LABELS = {
    "visits": _l("Visits"),
    "training_hours": _l("Training hours"),
    "training_participants": _l("Training participants"),
    "loans": _l("Loans"),
    "pages_printed": _l("Pages printed"),
    "wifi_sessions": _l("Wi-Fi sessions"),
}
CRITERION_LABELS = {
    "computers": _l("At least 6 computers"),
    "open_hours": _l("Open at least 15 hours a week"),
    "training_hours": _l("At least 6 hours of training a week on average"),
    "mediator_hours": _l("At least 6 hours a week of free access with a mediator"),
}
CRITERION_STATUS = {"met": _l("Met"), "not_met": _l("Not met"), "not_reported": _l("Not reported")}
TIMELINESS_LABELS = {
    "on_time": _l("On time"),
    "late": _l("Late"),
    "missing": _l("Missing"),
    "awaited": _l("Awaited"),
    "not_expected": _l("Not expected"),
    "unexpected": _l("Received, not expected"),
}
RULE_LABELS = {
    "jump": _l("Tenfold jump from its usual value"),
    "outlier": _l("Far outside its usual range"),
    "capacity": _l("More visits than its computers and opening hours allow"),
}
ORGANISER_LABELS = {
    "municipality": _l("Municipality"),
    "library": _l("Public library"),
    "cpas": _l("CPAS (public social-welfare centre)"),
    "non-profit": _l("Non-profit"),
    "other": _l("Other"),
}
KIND_LABELS = {"week": _l("Week"), "month": _l("Month"), "year": _l("Year")}
FIGURE_LABELS = {
    "visits.total": _l("Visits"),
    "hours.open_minutes": _l("Opening minutes"),
    "hours.mediator_minutes": _l("Minutes with a mediator"),
    "capacity.computers": _l("Computers"),
    "training.minutes": _l("Training minutes"),
    "training.sessions": _l("Training sessions"),
    "training.participants": _l("Training participants"),
    "loans.checkouts": _l("Loans"),
    "print.pages.bw": _l("Pages printed in black and white"),
    "print.pages.colour": _l("Pages printed in colour"),
    "wifi.sessions": _l("Wi-Fi sessions"),
}


def weekday_by_code() -> dict[str, object]:
    from appliance.federation.schema import WEEKDAYS

    return {**dict(zip(WEEKDAYS, WEEKDAY_LABELS, strict=True)), "total": _l("Weekly total")}


def labels() -> dict[str, object]:
    """Everything the dashboard's templates label, for the context processor."""
    return {"HEADLINE_LABELS": HEADLINE_LABELS, "CRITERION_LABELS": CRITERION_LABELS,
            "CRITERION_STATUS": CRITERION_STATUS, "TIMELINESS_LABELS": TIMELINESS_LABELS,
            "RULE_LABELS": RULE_LABELS, "ORGANISER_LABELS": ORGANISER_LABELS, "KIND_LABELS": KIND_LABELS,
            "FIGURE_LABELS": FIGURE_LABELS, "PURPOSE_LABELS": PURPOSE_LABELS,
            "WEEKDAY_LABELS": WEEKDAY_LABELS, "QUESTION_TEXT": QUESTION_TEXT, "option_label": option_label,
            "WEEKDAY_BY_CODE": weekday_by_code(), "commune_label": commune_label}
