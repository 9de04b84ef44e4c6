"""Translated labels of the stable codes (purposes, services, weekdays, roles, categories)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

PURPOSE_LABELS = {
    "learning_ict": _l("Learning computers"),
    "job_search": _l("Job search"),
    "leisure_culture_info": _l("Leisure, culture, information"),
    "housing_elearning": _l("Housing search, e-learning"),
    "admin_procedures": _l("Administrative procedures"),
}
PURPOSE_ICONS = {
    "learning_ict": "learn",
    "job_search": "job",
    "leisure_culture_info": "leisure",
    "housing_elearning": "house",
    "admin_procedures": "form",
}
SERVICE_LABELS = {
    "computer": _l("Computer"),
    "mediator": _l("Help from a mediator"),
    "printing": _l("Printing"),
    "wifi": _l("Wi-Fi"),
    "training": _l("Training"),
}
SOURCE_LABELS = {
    "walk_in": _l("Walk-in"),
    "booking": _l("Booking"),
    "queue": _l("Help queue"),
    "import": _l("Imported tally"),
}
WEEKDAY_LABELS = [
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
]
ROLE_LABELS = {"mediator": _l("Mediator"), "coordinator": _l("Coordinator")}
CATEGORY_LABELS = {
    "visitor": _l("Visitor"),
    "trainee": _l("Trainee"),
    "partner": _l("Partner organisation"),
}
LANGUAGE_LABELS = {"fr": "Français", "nl": "Nederlands", "en": "English", "ar": "العربية"}
