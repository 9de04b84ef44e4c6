"""Survey breakdowns: one-way, months only, exact totals, and no cell of 1 to k-1
answers readable from a report, not by subtracting the shown cells from the total, not
by using the suppressed sum, not even by someone who knows the rules and tries every
table that could have given the report."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.federation.schema import CURRENT_SCHEMA, SCHEMAS
from appliance.models import SurveyResponse
from appliance.period import Period
from appliance.survey.breakdowns import (
    breakdowns_of,
    hidden_cells,
    question_figures,
    survey_figures,
)
from appliance.survey.questions import BY_CODE, QUESTIONS, Question
from appliance.survey.responses import open_window, record_response

NOVEMBER = Period.parse("2026-11")
K = 5


def sheets_with(question: str, counts: dict[str, int]) -> list[dict[str, list[str]]]:
    """Answer sheets of a single-answer question: `counts[option]` sheets per option."""
    return [{question: [option]} for option, n in counts.items() for _ in range(n)]


def cells(figures: dict[str, int], question: Question) -> dict[str, int]:
    return {
        o: figures[f"survey.{question.code}.{o}"]
        for o in question.options
        if f"survey.{question.code}.{o}" in figures
    }


# --- What a report carries ---------------------------------------------------------------


def test_figures_are_for_months_only_and_need_k_of_at_least_3(db) -> None:
    for text in ("2026-W47", "2026"):
        with pytest.raises(ValueError, match="months only"):
            survey_figures(Period.parse(text), K)
    with pytest.raises(ValueError, match="3 or more"):
        survey_figures(NOVEMBER, 2)


def test_a_month_without_answers_reports_nothing(db) -> None:
    SurveyResponse.create(id=5, day=date(2026, 10, 31), answers='{"age": ["20_29"]}')
    assert survey_figures(NOVEMBER, K) == {}


def test_a_month_reads_its_own_sheets_from_the_database(db) -> None:
    open_window(date(2026, 11, 1), None, date(2026, 11, 1))
    for day in (date(2026, 11, 1), date(2026, 11, 30)):
        for _ in range(6):
            record_response({"help_home": ["yes"], "devices": ["smartphone"]}, day)
    SurveyResponse.create(id=5, day=date(2026, 12, 1), answers='{"help_home": ["no"]}')
    figures = survey_figures(NOVEMBER, K)
    assert figures["survey.responses"] == 12
    assert figures["survey.help_home.yes"] == 12 and figures["survey.help_home.no"] == 0
    assert figures["survey.devices.smartphone"] == 12


def test_every_key_is_in_the_report_schema_and_every_value_an_integer() -> None:
    sheets = [{q.code: [q.options[i % len(q.options)]] for q in QUESTIONS} for i in range(40)]
    figures = breakdowns_of(sheets, K)
    assert set(figures) <= SCHEMAS[CURRENT_SCHEMA]
    assert all(type(value) is int and value >= 0 for value in figures.values())


def test_totals_are_exact_and_count_the_people_who_answered_each_question() -> None:
    sheets = (
        [{"age": ["20_29"], "devices": ["computer", "smartphone"]}] * 7
        + [{"age": ["60_plus"]}] * 2
        + [{}] * 3
    )
    figures = breakdowns_of(sheets, K)
    assert figures["survey.responses"] == 12
    assert figures["survey.age._total"] == 9
    assert figures["survey.devices._total"] == 7  # people, not ticks
    assert figures["survey.devices.computer"] == figures["survey.devices.smartphone"] == 7
    assert figures["survey.gender._total"] == 0
    assert figures["survey.gender.woman"] == 0  # nobody: zeros are explicit


def test_no_small_cell_means_every_cell_is_shown_zeros_included() -> None:
    figures = breakdowns_of(sheets_with("gender", {"woman": 9, "man": 6}), K)
    assert cells(figures, BY_CODE["gender"]) == {"woman": 9, "man": 6, "other_or_unsaid": 0}
    assert (
        figures["survey.gender._suppressed_cells"] == figures["survey.gender._suppressed_sum"] == 0
    )


def test_a_single_small_cell_hides_the_next_smallest_too() -> None:
    figures = breakdowns_of(
        sheets_with(
            "status",
            {
                "student": 9,
                "job_seeker": 12,
                "retired": 6,
                "at_home": 7,
                "employed": 5,
                "self_employed": 8,
                "other": 2,
            },
        ),
        K,
    )
    assert cells(figures, BY_CODE["status"]) == {
        "student": 9,
        "job_seeker": 12,
        "retired": 6,
        "at_home": 7,
        "self_employed": 8,
    }
    assert figures["survey.status._suppressed_cells"] == 2
    assert figures["survey.status._suppressed_sum"] == 7  # other 2 + employed 5: which is which?
    assert figures["survey.status._total"] == 49


def test_a_zero_beside_a_small_cell_is_hidden_so_as_not_to_point_at_it() -> None:
    figures = breakdowns_of(sheets_with("gender", {"woman": 12, "man": 1}), K)
    # Shown: woman 12. Hidden: man and other, 1 between them: nobody can say which.
    assert cells(figures, BY_CODE["gender"]) == {"woman": 12}
    assert (
        figures["survey.gender._suppressed_cells"],
        figures["survey.gender._suppressed_sum"],
    ) == (2, 1)


def test_a_question_answered_by_fewer_than_k_people_shows_no_cell() -> None:
    sheets = [{"devices": ["none", "computer", "tablet", "smartphone"], "age": ["30_39"]}] * 2
    figures = breakdowns_of(sheets + [{}] * 10, K)
    assert cells(figures, BY_CODE["age"]) == {}
    assert figures["survey.age._suppressed_sum"] == 2 == figures["survey.age._total"]
    # Two people who ticked every device: the number of ticks would say so. It is left out.
    assert cells(figures, BY_CODE["devices"]) == {}
    assert (
        figures["survey.devices._total"] == 2 and figures["survey.devices._suppressed_cells"] == 4
    )
    assert "survey.devices._suppressed_sum" not in figures


def test_a_cell_below_k_cannot_be_found_by_subtracting_the_shown_cells_from_the_total() -> None:
    """The classic attack: the total minus the cells shown. It only ever gives the sum of
    two hidden cells or more, which the report carries anyway."""
    counts = {"yes": 14, "no": 4}
    figures = breakdowns_of(sheets_with("help_home", counts), K)
    assert "survey.help_home.no" not in figures and "survey.help_home.yes" not in figures
    assert figures["survey.help_home._total"] == 18 == figures["survey.help_home._suppressed_sum"]
    counts = {"knew": 14, "vaguely": 4, "not_at_all": 6}
    figures = breakdowns_of(sheets_with("knew_before", counts), K)
    shown = cells(figures, BY_CODE["knew_before"])
    assert shown == {"knew": 14}
    assert figures["survey.knew_before._total"] - sum(shown.values()) == 10  # vaguely + not_at_all


# --- Properties over random answer sets ------------------------------------------------------


def sheet_strategy() -> st.SearchStrategy:
    """A random answer sheet: each question skipped or answered (several codes if allowed)."""

    def answer(question: Question) -> st.SearchStrategy:
        if question.multiple:
            return st.sets(st.sampled_from(question.options), min_size=1).map(sorted)
        return st.sampled_from(question.options).map(lambda option: [option])

    return st.fixed_dictionaries({}, optional={q.code: answer(q) for q in QUESTIONS})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets=st.lists(sheet_strategy(), min_size=1, max_size=60), k=st.integers(3, 8))
def test_no_hidden_cell_can_be_pinned_down_by_arithmetic(sheets, k) -> None:
    """For every question: shown cells and totals are exact, no shown cell is small, and
    either nothing is hidden or at least two cells are, and every hidden cell can still
    hold two values or more given all the report says (total, shown cells, number and
    sum of the hidden ones, and that a multiple-answer cell never exceeds the total)."""
    figures = breakdowns_of(sheets, k)
    assert figures["survey.responses"] == len(sheets)
    for question in QUESTIONS:
        true = {o: sum(o in s.get(question.code, ()) for s in sheets) for o in question.options}
        answered = sum(bool(s.get(question.code)) for s in sheets)
        prefix = f"survey.{question.code}"
        shown = cells(figures, question)
        hidden = [o for o in question.options if o not in shown]
        assert figures[f"{prefix}._total"] == answered
        assert all(shown[o] == true[o] for o in shown)
        assert not any(0 < n < k for n in shown.values()), (question.code, shown)
        assert figures[f"{prefix}._suppressed_cells"] == len(hidden)
        if not hidden:
            continue
        assert len(hidden) >= 2
        if f"{prefix}._suppressed_sum" not in figures:
            assert question.multiple and 0 < answered < k and not shown
            continue
        total_hidden = figures[f"{prefix}._suppressed_sum"]
        assert total_hidden == sum(true[o] for o in hidden)
        if not question.multiple:
            assert sum(shown.values()) + total_hidden == answered  # sums stay exact
        cap = answered if question.multiple else total_hidden
        low = max(0, total_hidden - (len(hidden) - 1) * cap)
        high = min(total_hidden, cap)
        assert high > low, (question.code, true, shown, total_hidden)


def spreads(total: int | None, parts: int, ceiling: int):  # type: ignore[no-untyped-def]
    """Every way of giving `parts` cells a value from 0 to `ceiling` (adding up to `total`)."""
    if total is None:
        yield from itertools.product(range(ceiling + 1), repeat=parts)
        return
    if parts == 0:
        if total == 0:
            yield ()
        return
    for first in range(min(total, ceiling) + 1):
        for rest in spreads(total - first, parts - 1, ceiling):
            yield (first, *rest)


def replay(question: Question, figures: dict[str, int], k: int) -> list[tuple[int, ...]]:
    """Every table of counts that gives exactly this report: what an attacker who knows
    the rules can narrow the truth down to."""
    prefix = f"survey.{question.code}"
    answered = figures[f"{prefix}._total"]
    shown = [figures.get(f"{prefix}.{o}") for o in question.options]
    hidden = [i for i, value in enumerate(shown) if value is None]
    target = figures.get(f"{prefix}._suppressed_sum")
    found = []
    for values in spreads(target, len(hidden), answered):
        counts = list(shown)
        for index, value in zip(hidden, values):
            counts[index] = value
        total = sum(counts)
        if question.multiple:
            possible = total == 0 if answered == 0 else max(counts) <= answered <= total
        else:
            possible = total == answered
        if possible and question_figures(question, counts, answered, k) == figures:
            found.append(tuple(counts))
    return found


@st.composite
def small_table(draw) -> tuple[Question, list[int], int, int]:
    """A question of 2 to 4 options, its counts, how many answered, and k."""
    m = draw(st.integers(2, 4))
    multiple = draw(st.booleans())
    counts = draw(st.lists(st.integers(0, 9 if m < 4 else 7), min_size=m, max_size=m))
    if multiple:
        answered = draw(st.integers(max(counts), min(sum(counts), 12))) if sum(counts) else 0
    else:
        answered = sum(counts)
    return Question("q", tuple("abcd"[:m]), multiple), counts, answered, draw(st.integers(3, 6))


@settings(max_examples=300, deadline=None)
@given(table=small_table())
def test_even_knowing_the_rules_no_hidden_cell_has_a_single_possible_value(table) -> None:
    question, counts, answered, k = table
    figures = question_figures(question, counts, answered, k)
    candidates = replay(question, figures, k)
    assert tuple(counts) in candidates
    for index, option in enumerate(question.options):
        if f"survey.q.{option}" not in figures:
            values = {candidate[index] for candidate in candidates}
            assert len(values) >= 2, (counts, answered, k, figures, values)


@pytest.mark.parametrize(
    "counts, answered, k",
    [
        ([4, 4, 4], 12, 5),  # every cell at k-1
        ([1, 5, 6], 12, 5),  # the same total: rule 2 hides everything for both
        ([5, 4, 4], 13, 5),  # two hidden cells at k-1 beside a shown 5
        ([1, 1, 1, 1, 1], 5, 5),  # five people, five answers
        ([1, 0, 0], 1, 3),  # one person
        ([2, 9, 9], 20, 3),  # one small cell, two equal smallest others
    ],
)
def test_hard_cases_found_while_designing_the_rules(counts, answered, k) -> None:
    question = Question("q", tuple("abcde"[: len(counts)]), False)
    figures = question_figures(question, counts, answered, k)
    candidates = replay(question, figures, k)
    for index, option in enumerate(question.options):
        if f"survey.q.{option}" not in figures:
            assert len({c[index] for c in candidates}) >= 2, (counts, figures)


def test_the_rules_hide_only_what_they_must() -> None:
    assert hidden_cells([10, 20, 30], 60, 5) == set()
    assert hidden_cells([10, 20, 0], 30, 5) == set()  # a zero alone points at nobody
    assert hidden_cells([2, 20, 30], 52, 5) == {0, 1}
    assert hidden_cells([2, 3, 30], 35, 5) == {0, 1}
