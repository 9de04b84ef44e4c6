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


# Belgian postal codes follow the provinces. The survey keeps the district only:
#   1000-1299  Brussels-Capital Region
#   1300-1499  Walloon Brabant
#   1500-1999  arrondissement of Halle-Vilvoorde (Flemish Brabant, around Brussels)
#   3000-3499  arrondissement of Leuven (the rest of Flemish Brabant), except
#   3090       Overijse, which lies in Halle-Vilvoorde. Its neighbours Tervuren (3080),
#              Kortenberg (3070-3078) and Herent (3020) are in the Leuven arrondissement.
#   other codes from 1000 to 9999: elsewhere in Belgium.
HALLE_VILVOORDE_IN_LEUVEN_RANGE = frozenset({3090})


def area_of_postal_code(postal_code: str) -> str | None:
    """The district of a Belgian postal code (the survey keeps only that), or None when
    the text is not a postal code (4 digits, 1000 to 9999). See the table above."""
    text = "".join(postal_code.split())
    # A phone set to Arabic may type Eastern Arabic digits (١٠٨٠): int() reads them too.
    if not (len(text) == 4 and text.isdecimal()):
        return None
    number = int(text)
    if number < 1000:
        return None
    if number <= 1299:
        return "brussels"
    if number <= 1499:
        return "walloon_brabant"
    if number <= 1999 or number in HALLE_VILVOORDE_IN_LEUVEN_RANGE:
        return "halle_vilvoorde"
    if 3000 <= number <= 3499:
        return "leuven"
    return "other_belgium"
