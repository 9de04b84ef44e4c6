"""Plausibility checks on reported figures, without anyone writing min/max rules by hand.

Health information systems check each value against bounds set per facility and per
indicator; here each EPN's own history and capacity set them. A flag is a question for
the coordination to ask the EPN: values are never dropped or changed.

Three rules, each on one EPN's report of one period:

- `jump`: the value is at least ten times, or at most a tenth of, the median of the same
  figure in the EPN's previous periods of the same kind (a sudden tenfold jump, a
  forgotten digit); only when the larger of value and median is at least `JUMP_FLOOR`,
  so that 0 -> 3 loans does not count as a jump, and never from a median of 0.
- `outlier`: the modified z-score |value - median| / (1.4826 x MAD) exceeds
  `OUTLIER_Z` (MAD: the median absolute deviation; robust to the outliers it looks for,
  unlike a mean and a standard deviation). Skipped when the history does not vary.
- `capacity`: more visits than the seats and opening hours allow: `visits.total` above
  `capacity.computers` x opening hours (`hours.open_minutes` / 60) x `VISITS_PER_SEAT_HOUR`.
  Four visits per computer per opening hour is generous on purpose (visitors who only
  print, use the Wi-Fi or ask one question do not sit a full hour): it catches the
  impossible (a typing error, a tally imported twice), not a busy day.

History rules need `MIN_HISTORY` previous periods with the figure, so that a new EPN is
not flagged on its first reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import median

# The figures checked against their history: operational counts that vary from period to
# period. Survey cells are suppressed and few; weekday and hour details follow the total.
CHECKED_KEYS = (
    "visits.total", "hours.open_minutes", "hours.mediator_minutes", "capacity.computers",
    "training.minutes", "training.sessions", "training.participants", "loans.checkouts",
    "print.pages.bw", "print.pages.colour", "wifi.sessions",
)
MIN_HISTORY = 4
JUMP_RATIO = 10
JUMP_FLOOR = 10
OUTLIER_Z = 5.0
MAD_SCALE = 1.4826  # makes the MAD estimate the standard deviation of normal data
VISITS_PER_SEAT_HOUR = 4
RULES = ("jump", "outlier", "capacity")


@dataclass(frozen=True)
class Flag:
    """One value to check with the EPN: which figure, why, and what was expected.

    `reference` is the history's median (jump, outlier) or the capacity bound (capacity).
    """

    epn: str
    period: str
    key: str
    value: int
    rule: str
    reference: float

    def as_dict(self) -> dict[str, object]:
        return {"epn": self.epn, "period": self.period, "key": self.key, "value": self.value,
                "rule": self.rule, "reference": self.reference}


def mad(values: list[float], centre: float) -> float:
    """The median absolute deviation of `values` around `centre`."""
    return median(abs(value - centre) for value in values)


def history_rule(value: int, history: list[int]) -> tuple[str, float] | None:
    """(`jump` or `outlier`, the history's median) when `value` is far from its history."""
    if len(history) < MIN_HISTORY:
        return None
    centre = median(history)
    # From a median of 0 any value is "tenfold": a new service, or a domain the EPN just
    # started reporting, is not a typing error.
    if centre > 0 and max(value, centre) >= JUMP_FLOOR and (value >= JUMP_RATIO * centre or value * JUMP_RATIO <= centre):
        return "jump", round(float(centre), 2)
    spread = mad(history, centre)
    if spread > 0 and abs(value - centre) / (MAD_SCALE * spread) > OUTLIER_Z:
        return "outlier", round(float(centre), 2)
    return None


def capacity_bound(figures: Mapping[str, int]) -> float | None:
    """The most visits the EPN's computers and opening hours allow, or None when either
    is not reported."""
    computers = figures.get("capacity.computers")
    open_minutes = figures.get("hours.open_minutes")
    if computers is None or open_minutes is None:
        return None
    return round(computers * open_minutes / 60 * VISITS_PER_SEAT_HOUR, 2)


def check_report(epn: str, period: str, figures: Mapping[str, int],
                 history: Iterable[Mapping[str, int]]) -> list[Flag]:
    """The flags of one EPN's report, given its reports of earlier periods of that kind."""
    earlier = list(history)
    flags = []
    for key in CHECKED_KEYS:
        value = figures.get(key)
        if value is None:
            continue
        found = history_rule(value, [past[key] for past in earlier if key in past])
        if found is not None:
            flags.append(Flag(epn, period, key, value, *found))
    bound = capacity_bound(figures)
    visits = figures.get("visits.total")
    if bound is not None and visits is not None and visits > bound:
        flags.append(Flag(epn, period, "visits.total", visits, "capacity", bound))
    return flags


def check_period(period: str, reports: Mapping[str, Mapping[str, int]],
                 histories: Mapping[str, list[Mapping[str, int]]]) -> list[Flag]:
    """The flags of every EPN's report of a period: `reports` and `histories` by EPN id."""
    flags = []
    for epn, figures in sorted(reports.items()):
        flags.extend(check_report(epn, period, figures, histories.get(epn, [])))
    return flags
