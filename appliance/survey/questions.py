"""The survey's questions and answer codes: stable codes, shared by the portal, the
breakdowns and the report schema. Labels are translated in the web layer."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGE_OPTIONS = (
    "french", "dutch", "german", "english", "arabic", "spanish", "italian", "portuguese",
    "turkish", "other_european", "other_african", "other",
)


@dataclass(frozen=True)
class Question:
    code: str
    options: tuple[str, ...]
    multiple: bool = False


QUESTIONS: tuple[Question, ...] = (
    Question("status", ("student", "job_seeker", "employed", "self_employed", "retired", "at_home", "other")),
    Question("age", ("under_20", "20_29", "30_39", "40_49", "50_59", "60_plus")),
    Question("gender", ("woman", "man", "other_or_unsaid")),
    Question("diploma", ("none_primary", "lower_secondary", "upper_secondary", "higher")),
    Question("devices", ("none", "computer", "tablet", "smartphone"), multiple=True),
    Question("internet_home", ("own", "shared_or_free", "none")),
    Question("help_home", ("yes", "no")),
    Question("knew_before", ("knew", "vaguely", "not_at_all")),
    Question("heard_from", ("municipality", "association", "public_service", "word_of_mouth", "poster",
                            "internet", "other"), multiple=True),
    Question("why", ("computer_access", "help", "training", "printing", "wifi", "other"), multiple=True),
    Question("what_for", ("job_search", "administration", "school", "private", "leisure", "other"),
             multiple=True),
    Question("satisfaction", tuple(str(score) for score in range(1, 11))),
    Question("area", ("brussels", "halle_vilvoorde", "leuven", "walloon_brabant", "other_belgium", "abroad")),
    Question("mother_tongue", LANGUAGE_OPTIONS),
    Question("languages", LANGUAGE_OPTIONS, multiple=True),
)
BY_CODE = {question.code: question for question in QUESTIONS}


def area_of_postal_code(postal_code: str) -> str | None:
    """The district a Belgian postal code belongs to (the survey keeps only that)."""
    text = postal_code.strip()
    if not (text.isdigit() and len(text) == 4):
        return None
    number = int(text)
    if 1000 <= number <= 1299:
        return "brussels"
    if 1300 <= number <= 1499:
        return "walloon_brabant"
    if 1500 <= number <= 1999 or 3000 <= number <= 3099 and number in (3020, 3070, 3071, 3078, 3080, 3090):
        return "halle_vilvoorde"
    if 3000 <= number <= 3499:
        return "leuven"
    return "other_belgium"
