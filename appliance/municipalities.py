"""Belgian municipalities: NIS codes and names, so Saint-Gilles and Sint-Gillis are one.

The table ships with the package (the 19 Brussels municipalities); other Belgian
municipalities are accepted by their 5-digit NIS code.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Municipality:
    nis_code: str
    name_fr: str
    name_nl: str
    postal_codes: tuple[str, ...]


def _fold(text: str) -> str:
    """Compare names without case, accents, hyphens or apostrophes."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c for c in decomposed if c.isalnum())
    return kept


@lru_cache(maxsize=1)
def municipalities() -> dict[str, Municipality]:
    """The shipped table, by NIS code."""
    source = resources.files("appliance") / "data" / "brussels-municipalities.csv"
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {
        row["nis_code"]: Municipality(
            row["nis_code"], row["name_fr"], row["name_nl"], tuple(row["postal_codes"].split())
        )
        for row in rows
    }


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    index = {}
    for code, item in municipalities().items():
        index[_fold(item.name_fr)] = code
        index[_fold(item.name_nl)] = code
    return index


def normalise_commune(value: str) -> str:
    """Return the NIS code for a NIS code or a French or Dutch municipality name."""
    text = value.strip()
    if text.isdigit() and len(text) == 5:
        return text
    code = _by_name().get(_fold(text))
    if code is None:
        raise LookupError(
            f"unknown municipality {text!r}: give its 5-digit NIS code or its French or Dutch name"
        )
    return code


def commune_label(nis_code: str, language: str = "fr") -> str:
    """The municipality's name in the language (Dutch for nl, French otherwise)."""
    item = municipalities().get(nis_code)
    if item is None:
        return nis_code
    return item.name_nl if language == "nl" else item.name_fr
