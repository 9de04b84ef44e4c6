"""The survey's one-way breakdowns of a month, small cells suppressed before they leave.

For each question on its own (never crossed: no age x gender), the report carries
`survey.<q>.<option>` for the cells it shows, and always:

- `survey.<q>._total`: how many answer sheets answered the question (exact);
- `survey.<q>._suppressed_cells`: how many option cells are left out;
- `survey.<q>._suppressed_sum`: what the left-out cells add up to (so that sums across
  EPNs stay exact), except for a multiple-answer question answered by 1 to k-1 people
  (see rule 5).

For a single-answer question the cells add up to `_total`. For a multiple-answer one
they count ticks: one person may tick several options, so the cells add up to more than
`_total`, and `_total - shown cells` is no cell's value; the sum of the hidden cells is
`_suppressed_sum`, which is published, so the rules below protect hidden cells against
that sum, whatever the kind of question.

The rules, for one question with counts c_1..c_m, n people answering, and
b = min(k-1, n), the most a cell below k can hold:

1. No cell has 1 to k-1 answers: every cell is shown, zeros included.
2. The cells add up to exactly m x b: every cell is hidden. (Otherwise "all cells hold
   b" would be the only table that fits rule 3's report; see below.)
3. Otherwise every cell below k is hidden, zeros included: a zero shown beside hidden
   cells would tell which options someone chose.
4. If rule 3 hides a single cell, or hidden cells that all hold exactly b, the smallest
   of the shown cells is hidden too, with every cell of that same value (secondary
   suppression: a single hidden cell would equal `_suppressed_sum`).
5. A multiple-answer question answered by 1 to k-1 people has every cell hidden (rule 3)
   and no `_suppressed_sum`: the number of ticks could say that these few people all
   ticked every option.

Why no hidden cell can be read, even by someone who knows these rules and subtracts:

- After rule 3, any other way of spreading `_suppressed_sum` S over the h hidden cells,
  each between 0 and b, gives the very same report (the rules look only at the shown
  cells, h, S and the question's total, which do not change). Rule 4 guarantees h >= 2
  and S < h x b, and S >= 1, so each hidden cell can hold at least two values.
- After rule 4, swapping the values of the hidden cells gives the same report, and they
  differ (one is below k, the others at or above it; or b against the larger cells).
- Rule 2 looks at the total only, which the report carries anyway: every table with
  that total and a small cell gives the same report.
- Rule 5 leaves a report that depends on n alone.

k must be at least 3: with k = 2, a yes/no question answered by two people, one of each,
cannot be protected while zeros are shown elsewhere. The tests check all this with an
attacker who enumerates every table that would give the same report.

The report builder (appliance.federation.report) calls `survey_figures` for each month;
a month's survey figures are final once sent, so no difference between two reports of a
month can reveal a cell either.
"""

from __future__ import annotations

from collections.abc import Sequence

from appliance.period import Period
from appliance.survey.questions import QUESTIONS, Question
from appliance.survey.responses import Answers, responses_in

MIN_K = 3


def hidden_cells(counts: Sequence[int], answered: int, k: int) -> set[int]:
    """The indexes of the cells to leave out of the report (rules 1 to 4 above)."""
    if not any(0 < count < k for count in counts):
        return set()
    ceiling = min(k - 1, answered)
    if sum(counts) == len(counts) * ceiling:
        return set(range(len(counts)))
    hidden = {index for index, count in enumerate(counts) if count < k}
    if len(hidden) == 1 or sum(counts[index] for index in hidden) == len(hidden) * ceiling:
        shown = [count for index, count in enumerate(counts) if index not in hidden]
        if shown:
            smallest = min(shown)
            hidden |= {index for index, count in enumerate(counts) if count == smallest}
    return hidden


def question_figures(
    question: Question, counts: Sequence[int], answered: int, k: int
) -> dict[str, int]:
    """One question's figures: the cells shown, its exact total, what was left out."""
    if k < MIN_K:
        raise ValueError(f"small_cell_k must be {MIN_K} or more, not {k}")
    prefix = f"survey.{question.code}"
    hidden = hidden_cells(counts, answered, k)
    figures = {
        f"{prefix}.{option}": count
        for index, (option, count) in enumerate(zip(question.options, counts))
        if index not in hidden
    }
    figures[f"{prefix}._total"] = answered
    figures[f"{prefix}._suppressed_cells"] = len(hidden)
    if not (question.multiple and 0 < answered < k):
        figures[f"{prefix}._suppressed_sum"] = sum(counts[index] for index in hidden)
    return figures


def tally(question: Question, sheets: Sequence[Answers]) -> tuple[list[int], int]:
    """The count of each option of `question`, and how many sheets answered it."""
    position = {option: index for index, option in enumerate(question.options)}
    counts = [0] * len(question.options)
    answered = 0
    for sheet in sheets:
        chosen = [position[code] for code in sheet.get(question.code, ()) if code in position]
        if chosen:
            answered += 1
            for index in chosen:
                counts[index] += 1
    return counts, answered


def breakdowns_of(sheets: Sequence[Answers], k: int) -> dict[str, int]:
    """The survey figures of these answer sheets; {} if there are none."""
    if k < MIN_K:
        raise ValueError(f"small_cell_k must be {MIN_K} or more, not {k}")
    if not sheets:
        return {}
    figures = {"survey.responses": len(sheets)}
    for question in QUESTIONS:
        counts, answered = tally(question, sheets)
        figures.update(question_figures(question, counts, answered, k))
    return figures


def survey_figures(period: Period, k: int) -> dict[str, int]:
    """The month's survey breakdowns, small cells suppressed; {} if nobody answered.

    Months only (ValueError otherwise): weeks and years would let a cell be found as the
    difference between overlapping reports; the hub sums months for longer periods.
    """
    if period.kind != "month":
        raise ValueError(f"survey figures are reported for months only, not {period.kind}s")
    return breakdowns_of(list(responses_in(period)), k)
