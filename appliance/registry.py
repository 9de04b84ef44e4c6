"""The two registries every domain joins: its report figures and its personal data.

- `register_figures(domain, fn)`: `fn(period) -> dict[str, int]`, called by the report
  builder. A figure a domain does not report is absent, never 0.
- `register_personal_data(domain, export=, erase=, purge=)`: how the domain exports and
  erases one member's data, and deletes what is past its retention period.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from appliance.config import RetentionConfig
    from appliance.models import Member
    from appliance.period import Period

# The modules that register themselves when imported, in report order.
DOMAIN_MODULES = (
    "appliance.desk",
    "appliance.survey.responses",
    "appliance.booking",
    "appliance.helpqueue",
    "appliance.printing",
    "appliance.wifi",
    "appliance.lending",
)

FiguresFunction = Callable[["Period"], dict[str, int]]


@dataclass(frozen=True)
class PersonalData:
    domain: str
    export: Callable[["Member"], Any]
    erase: Callable[["Member"], int]
    purge: Callable[[date, "RetentionConfig"], int]


_figures: dict[str, FiguresFunction] = {}
_personal: dict[str, PersonalData] = {}


def load_domains() -> None:
    """Import every domain module so that each registers itself."""
    for name in DOMAIN_MODULES:
        importlib.import_module(name)


def register_figures(domain: str, function: FiguresFunction) -> None:
    _figures[domain] = function


def register_personal_data(
    domain: str,
    export: Callable[["Member"], Any],
    erase: Callable[["Member"], int],
    purge: Callable[[date, "RetentionConfig"], int],
) -> None:
    _personal[domain] = PersonalData(domain, export, erase, purge)


def figure_domains() -> list[str]:
    load_domains()
    return list(_figures)


def personal_data_handlers() -> list[PersonalData]:
    load_domains()
    return list(_personal.values())


def collect_figures(period: "Period") -> dict[str, int]:
    """Every domain's figures for `period`, merged; a key reported twice is a bug."""
    load_domains()
    merged: dict[str, int] = {}
    for domain, function in _figures.items():
        for key, value in function(period).items():
            if key in merged:
                raise RuntimeError(f"figure {key!r} reported twice (again by {domain})")
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"figure {key!r} of {domain} is not an integer")
            merged[key] = value
    return merged
