"""The survey's words and pictograms: short questions, plain answers, one icon each.

Codes come from appliance.survey.questions; only the labels are translated here.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from appliance.survey.questions import Question

QUESTION_TEXT = {
    "status": _l("What do you do now?"),
    "age": _l("How old are you?"),
    "gender": _l("You are…"),
    "diploma": _l("Your highest diploma?"),
    "devices": _l("What do you have at home?"),
    "internet_home": _l("Do you have internet at home?"),
    "help_home": _l("At home, does someone help you with computers?"),
    "knew_before": _l("Before your first visit, did you know what we do here?"),
    "heard_from": _l("How did you hear about us?"),
    "why": _l("Why do you come here?"),
    "what_for": _l("What do you use it for?"),
    "satisfaction": _l("Are you happy with our help?"),
    "area": _l("Where do you live?"),
    "mother_tongue": _l("What is your mother tongue?"),
    "languages": _l("Which languages do you speak well?"),
}
QUESTION_ICONS = {
    "status": "job",
    "age": "s-cake",
    "gender": "person",
    "diploma": "s-diploma",
    "devices": "s-devices",
    "internet_home": "s-wifi",
    "help_home": "s-help",
    "knew_before": "s-question",
    "heard_from": "s-megaphone",
    "why": "s-door",
    "what_for": "list",
    "satisfaction": "s-smile",
    "area": "s-pin",
    "mother_tongue": "s-speech",
    "languages": "s-speech2",
}
OTHER = _l("Other")
LOOKING_FOR_WORK = _l("Looking for work")

OPTION_TEXT = {
    "status": {
        "student": _l("Student"),
        "job_seeker": LOOKING_FOR_WORK,
        "employed": _l("I have a job"),
        "self_employed": _l("Self-employed"),
        "retired": _l("Retired"),
        "at_home": _l("At home"),
        "other": OTHER,
    },
    "age": {
        "under_20": _l("Under 20"),
        "20_29": _l("20 to 29"),
        "30_39": _l("30 to 39"),
        "40_49": _l("40 to 49"),
        "50_59": _l("50 to 59"),
        "60_plus": _l("60 or more"),
    },
    "gender": {
        "woman": _l("A woman"),
        "man": _l("A man"),
        "other_or_unsaid": _l("Other, or I prefer not to say"),
    },
    "diploma": {
        "none_primary": _l("None, or primary school"),
        "lower_secondary": _l("Lower secondary school"),
        "upper_secondary": _l("Upper secondary school (CESS)"),
        "higher": _l("Higher education (college, university)"),
    },
    "devices": {
        "none": _l("None of these"),
        "computer": _l("Computer"),
        "tablet": _l("Tablet"),
        "smartphone": _l("Smartphone"),
    },
    "internet_home": {
        "own": _l("Yes, my own"),
        "shared_or_free": _l("Yes, free or someone else's"),
        "none": _l("No"),
    },
    "help_home": {"yes": _l("Yes"), "no": _l("No")},
    "knew_before": {
        "knew": _l("Yes, I knew what you offer"),
        "vaguely": _l("A little"),
        "not_at_all": _l("No, not at all"),
    },
    "heard_from": {
        "municipality": _l("The municipality"),
        "association": _l("An association"),
        "public_service": _l("A public service (CPAS, library…)"),
        "word_of_mouth": _l("Family or friends"),
        "poster": _l("A poster or a flyer"),
        "internet": _l("Internet, social media"),
        "other": OTHER,
    },
    "why": {
        "computer_access": _l("A computer with internet"),
        "help": _l("Help with a computer or the internet"),
        "training": _l("A course"),
        "printing": _l("Printing, scanning"),
        "wifi": _l("Wi-Fi"),
        "other": OTHER,
    },
    "what_for": {
        "job_search": LOOKING_FOR_WORK,
        "administration": _l("Paperwork"),
        "school": _l("School, training"),
        "private": _l("Private things (e-mail, documents)"),
        "leisure": _l("Leisure"),
        "other": OTHER,
    },
    "area": {
        "brussels": _l("Brussels"),
        "halle_vilvoorde": _l("Halle-Vilvoorde"),
        "leuven": _l("Leuven region"),
        "walloon_brabant": _l("Walloon Brabant"),
        "other_belgium": _l("Elsewhere in Belgium"),
        "abroad": _l("Outside Belgium"),
    },
}
LANGUAGE_TEXT = {
    "french": _l("French"),
    "dutch": _l("Dutch"),
    "german": _l("German"),
    "english": _l("English"),
    "arabic": _l("Arabic"),
    "spanish": _l("Spanish"),
    "italian": _l("Italian"),
    "portuguese": _l("Portuguese"),
    "turkish": _l("Turkish"),
    "other_european": _l("Another European language"),
    "other_african": _l("An African language"),
    "other": _l("Another language"),
}
# Each language also in its own words and script, which many visitors read best.
AUTONYMS = {
    "french": ("fr", "Français"),
    "dutch": ("nl", "Nederlands"),
    "german": ("de", "Deutsch"),
    "english": ("en", "English"),
    "arabic": ("ar", "العربية"),
    "spanish": ("es", "Español"),
    "italian": ("it", "Italiano"),
    "portuguese": ("pt", "Português"),
    "turkish": ("tr", "Türkçe"),
}
OPTION_ICONS = {
    "status": {
        "student": "s-diploma",
        "job_seeker": "s-search",
        "employed": "job",
        "self_employed": "s-shop",
        "retired": "s-chair",
        "at_home": "house",
        "other": "s-dots",
    },
    "gender": {"woman": "s-woman", "man": "s-man", "other_or_unsaid": "s-dots"},
    "devices": {
        "none": "s-none",
        "computer": "learn",
        "tablet": "s-tablet",
        "smartphone": "s-phone",
    },
    "internet_home": {"own": "s-wifi", "shared_or_free": "people", "none": "s-none"},
    "help_home": {"yes": "s-yes", "no": "s-no"},
    "knew_before": {"knew": "s-yes", "vaguely": "s-half", "not_at_all": "s-no"},
    "heard_from": {
        "municipality": "s-townhall",
        "association": "people",
        "public_service": "house",
        "word_of_mouth": "s-speech2",
        "poster": "s-poster",
        "internet": "s-globe",
        "other": "s-dots",
    },
    "why": {
        "computer_access": "learn",
        "help": "s-help",
        "training": "s-board",
        "printing": "s-printer",
        "wifi": "s-wifi",
        "other": "s-dots",
    },
    "what_for": {
        "job_search": "s-search",
        "administration": "form",
        "school": "s-diploma",
        "private": "s-mail",
        "leisure": "leisure",
        "other": "s-dots",
    },
}


def option_label(question: str, option: str) -> str:
    """The translated label of an answer (satisfaction scores are their own label)."""
    if question in ("mother_tongue", "languages"):
        return str(LANGUAGE_TEXT[option])
    if question == "satisfaction":
        return option
    return str(OPTION_TEXT[question][option])


def words_for(question: Question) -> dict[str, Any]:
    """The translated words and the pictograms of one question's page."""
    return {
        "text": str(QUESTION_TEXT[question.code]),
        "icon_name": QUESTION_ICONS[question.code],
        "labels": {option: option_label(question.code, option) for option in question.options},
        "icons": OPTION_ICONS.get(question.code, {}),
        "autonyms": AUTONYMS,
    }
