"""The desk's rules: visits, opening hours, mediators, closures, today at a glance, figures."""

from datetime import date, datetime, time, timedelta

import pytest

from appliance.desk import figures, glance
from appliance.desk.schedule import (
    Calendar,
    add_closure,
    add_shift,
    open_state,
    set_weekly_hours,
    weekly_hours,
)
from appliance.desk.visits import arrival_visit, correct_visit, delete_visit, log_visit, services_of
from appliance.errors import InvalidInput
from appliance.models import OpeningHours, StaffUser, Visit
from appliance.period import Period
from appliance.registry import collect_figures

T = time.fromisoformat
TUESDAY_MORNING = datetime(2026, 11, 17, 10, 30)
WEEK = {0: [(T("09:30"), T("12:30")), (T("13:30"), T("17:00"))], 1: [(T("09:30"), T("12:30"))],
        2: [(T("13:00"), T("19:00"))], 5: [(T("10:00"), T("13:00"))]}


@pytest.fixture
def schedule(db):
    set_weekly_hours(WEEK)
    mediator = StaffUser.get(StaffUser.username == "mehdi")
    add_shift(1, T("09:00"), T("11:00"), mediator.id)
    return mediator


def test_a_visit_is_logged_with_its_purpose_services_day_and_hour(db):
    visit = log_visit("job_search", ["computer", "printing"], TUESDAY_MORNING)
    stored = Visit.get_by_id(visit.id)
    assert (stored.day, stored.hour, stored.purpose, stored.source) == (date(2026, 11, 17), 10, "job_search", "walk_in")
    assert services_of(stored) == ["computer", "printing"]


@pytest.mark.parametrize("purpose, services", [("shopping", []), ("job_search", ["teleport"]), ("", [])])
def test_an_unknown_purpose_or_service_is_refused_and_nothing_is_stored(db, purpose, services):
    with pytest.raises(InvalidInput):
        log_visit(purpose, services, TUESDAY_MORNING)
    assert Visit.select().count() == 0


def test_a_wrong_visit_can_be_corrected_or_deleted(db):
    visit = log_visit("job_search", [], TUESDAY_MORNING)
    correct_visit(visit.id, "admin_procedures", ["mediator"], 9)
    stored = Visit.get_by_id(visit.id)
    assert (stored.purpose, stored.hour, services_of(stored)) == ("admin_procedures", 9, ["mediator"])
    delete_visit(visit.id)
    assert Visit.select().count() == 0


def test_an_arrival_through_another_door_is_counted_once_a_day(db):
    walk_in = log_visit("job_search", ["computer"], TUESDAY_MORNING)
    attached = arrival_visit("admin_procedures", ["mediator"], TUESDAY_MORNING, "queue", attach_to=walk_in.id)
    assert attached.id == walk_in.id and Visit.select().count() == 1
    assert services_of(Visit.get_by_id(walk_in.id)) == ["computer", "mediator"]
    booked = arrival_visit("learning_ict", ["training"], TUESDAY_MORNING, "booking")
    assert (Visit.select().count(), booked.source) == (2, "booking")
    yesterday = Visit.create(day=date(2026, 11, 16), hour=9, purpose="job_search")
    with pytest.raises(InvalidInput):
        arrival_visit("job_search", [], TUESDAY_MORNING, "queue", attach_to=yesterday.id)
    assert Visit.select().count() == 3


def test_imported_visits_cannot_be_edited_at_the_desk(db):
    visit = Visit.create(day=date(2026, 1, 5), hour=None, purpose="job_search", source="import")
    with pytest.raises(InvalidInput):
        delete_visit(visit.id)
    assert Visit.select().count() == 1


def test_opening_hours_refuse_overlaps_and_reversed_periods_and_keep_the_old_week(db):
    set_weekly_hours(WEEK)
    with pytest.raises(InvalidInput):
        set_weekly_hours({0: [(T("09:00"), T("12:00")), (T("11:00"), T("14:00"))]})
    with pytest.raises(InvalidInput):
        set_weekly_hours({3: [(T("17:00"), T("09:00"))]})
    assert weekly_hours()[0] == WEEK[0]
    assert OpeningHours.select().count() == 5


def test_open_now_until_closing_time_and_the_next_opening_when_closed(schedule):
    state = open_state(TUESDAY_MORNING)
    assert state.open_now and state.until == T("12:30")
    evening = open_state(datetime(2026, 11, 17, 18, 0))
    assert not evening.open_now
    assert evening.next_opening == datetime(2026, 11, 18, 13, 0)


def test_a_closure_closes_the_epn_and_shows_as_next_closure(schedule):
    add_closure(date(2026, 11, 17), date(2026, 11, 18), "Formation de l'équipe")
    state = open_state(TUESDAY_MORNING)
    assert not state.open_now
    assert state.closure.reason == "Formation de l'équipe"
    assert state.next_opening == datetime(2026, 11, 21, 10, 0)
    assert glance(TUESDAY_MORNING).next_closure.reason == "Formation de l'équipe"


def test_mediators_on_duty_are_those_whose_shift_covers_now(schedule):
    assert glance(TUESDAY_MORNING).mediators == ["Mehdi"]
    assert glance(datetime(2026, 11, 17, 11, 30)).mediators == []


def test_closures_and_shifts_validate_their_input(schedule):
    with pytest.raises(InvalidInput):
        add_closure(date(2026, 12, 2), date(2026, 12, 1), "x")
    with pytest.raises(InvalidInput):
        add_closure(date(2026, 12, 1), date(2026, 12, 1), "   ")
    with pytest.raises(InvalidInput):
        add_shift(1, T("10:00"), T("12:00"), schedule.id)  # overlaps the 09:00-11:00 shift
    with pytest.raises(InvalidInput):
        add_shift(1, T("13:00"), T("14:00"), 999)


def test_today_at_a_glance_counts_todays_visits_by_purpose(schedule):
    log_visit("job_search", [], TUESDAY_MORNING)
    log_visit("job_search", [], TUESDAY_MORNING)
    log_visit("learning_ict", [], TUESDAY_MORNING)
    log_visit("learning_ict", [], datetime(2026, 11, 16, 10, 0))
    today = glance(TUESDAY_MORNING)
    assert today.visits.total == 3
    assert today.visits.by_purpose["job_search"] == 2


def test_weekly_figures_count_each_visit_once_by_weekday_hour_purpose_and_service(schedule):
    log_visit("job_search", ["computer"], datetime(2026, 11, 16, 9, 45))
    log_visit("admin_procedures", ["computer", "mediator"], datetime(2026, 11, 17, 10, 5))
    Visit.create(day=date(2026, 11, 18), hour=None, purpose="job_search", source="import")
    log_visit("job_search", [], datetime(2026, 11, 23, 10, 0))  # next week
    result = figures(Period.parse("2026-W47"))
    assert result["visits.total"] == 3
    assert (result["visits.weekday.mon"], result["visits.weekday.tue"], result["visits.weekday.wed"]) == (1, 1, 1)
    assert result["visits.weekday.sun"] == 0
    assert result["visits.hour.09"] == 1 and result["visits.hour.unknown"] == 1
    assert result["visits.purpose.job_search"] == 2 and result["visits.purpose.learning_ict"] == 0
    assert result["visits.source.import"] == 1
    assert result["visits.service.computer"] == 2 and result["visits.service.mediator"] == 1
    assert all(isinstance(v, int) for v in result.values())


def test_opening_and_mediator_minutes_follow_the_schedule_and_closures(schedule):
    # Week 47: Mon 6.5 h, Tue 3 h, Wed 6 h, Sat 3 h = 18.5 h; mediator Tue 09:30-11:00.
    result = figures(Period.parse("2026-W47"))
    assert result["hours.open_minutes"] == 1110
    assert result["hours.mediator_minutes"] == 90
    add_closure(date(2026, 11, 16), date(2026, 11, 16), "Jour férié local")
    assert figures(Period.parse("2026-W47"))["hours.open_minutes"] == 1110 - 390


def test_overlapping_mediator_shifts_count_once(schedule):
    other = StaffUser.get(StaffUser.username == "coline")
    add_shift(1, T("10:00"), T("12:00"), other.id)
    assert Calendar.load().mediator_minutes(date(2026, 11, 17)) == 150  # 09:30-12:00


def test_the_report_builder_collects_the_desk_figures_through_the_registry(schedule):
    log_visit("job_search", [], TUESDAY_MORNING)
    collected = collect_figures(Period.parse("2026-11"))
    assert collected["visits.total"] == 1
    assert "hours.open_minutes" in collected


PERIODS = {"week": Period.parse("2024-W09"), "month": Period.parse("2024-02"), "year": Period.parse("2024")}


def recount(visits: list[dict], period: Period) -> dict[str, int]:
    """The desk's visit figures the plain way: one visit at a time, in Python."""
    from appliance.desk import HOUR_BANDS, PURPOSES, SERVICES, WEEKDAY_KEYS
    from appliance.desk.visits import SOURCES

    out = {"visits.total": 0}
    out.update({f"visits.weekday.{key}": 0 for key in WEEKDAY_KEYS})
    out.update({f"visits.hour.{band}": 0 for band in HOUR_BANDS})
    out.update({f"visits.purpose.{code}": 0 for code in PURPOSES})
    out.update({f"visits.source.{code}": 0 for code in SOURCES})
    services = {f"visits.service.{name}": 0 for name in SERVICES}
    for visit in visits:
        if not period.start <= visit["day"] < period.end:
            continue
        hour = "unknown" if visit["hour"] is None else f"{visit['hour']:02d}"
        for key in ("visits.total", f"visits.weekday.{WEEKDAY_KEYS[visit['day'].weekday()]}",
                    f"visits.hour.{hour}", f"visits.purpose.{visit['purpose']}",
                    f"visits.source.{visit['source']}"):
            out[key] = out.get(key, 0) + 1
        for name in SERVICES:
            services[f"visits.service.{name}"] += visit[f"used_{name}"]
    return out | services


def random_visits(period: Period):  # type: ignore[no-untyped-def]
    """Visits on days around `period` (some just outside it), with any hour band, any
    purpose, origin and services, and now and then a purpose or origin the desk no longer
    offers (older data): those are counted under their own key."""
    from hypothesis import strategies as st

    from appliance.desk import PURPOSES, SERVICES
    from appliance.desk.visits import SOURCES

    days = st.integers(-8, (period.end - period.start).days + 7).map(
        lambda offset: period.start + timedelta(days=offset))
    visit = st.fixed_dictionaries({
        "day": days,
        "hour": st.none() | st.integers(0, 23),
        "purpose": st.sampled_from(PURPOSES + ("legacy_purpose",)),
        "source": st.sampled_from(SOURCES + ("legacy_source",)),
        **{f"used_{name}": st.booleans() for name in SERVICES},
    })
    return st.lists(visit, max_size=300)


@pytest.mark.parametrize("kind", PERIODS)
def test_the_figures_aggregated_in_sql_match_a_plain_recount_of_random_visits(db, kind):
    from hypothesis import HealthCheck, given, settings

    period = PERIODS[kind]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(random_visits(period))
    def check(visits):  # type: ignore[no-untyped-def]
        Visit.delete().execute()
        if visits:
            Visit.insert_many(visits).execute()
        result = figures(period)
        expected = recount(visits, period)
        assert {key: value for key, value in result.items() if key.startswith("visits.")} == expected
        # The explicit keys keep their order (a purpose or origin no longer offered has no
        # fixed place: reports are signed in canonical form, where keys are sorted).
        explicit = [*recount([], period), "hours.open_minutes", "hours.mediator_minutes"]
        assert [key for key in result if key in explicit] == explicit
        assert all(type(value) is int for value in result.values())

    check()
