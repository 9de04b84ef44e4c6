"""The help queue's rules: numbers per day, calling in order, serving as one visit,
places and estimated waits, closed hours, the flood limit, figures and retention."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from appliance.config import QueueConfig
from appliance.desk.visits import log_visit
from appliance.errors import InvalidInput, NotFound
from appliance.federation.schema import CURRENT_SCHEMA, SCHEMAS
from appliance.helpqueue import (
    QueueClosed,
    TooManyTickets,
    call_next,
    cancel_ticket,
    figures,
    last_called,
    mark_absent,
    mark_served,
    place_of,
    purge_tickets,
    put_back,
    recall,
    take_ticket,
    ticket_by_token,
    tickets_on,
)
from appliance.models import QueueTicket, Visit
from appliance.period import Period
from appliance.registry import collect_figures
from tests.conftest import FIXED_NOW

NOW = FIXED_NOW  # Tuesday 17 November 2026, 10:30


def take(config: QueueConfig, kind: str = "forms", minutes: int = 0, client: str = "") -> QueueTicket:
    return take_ticket(kind, NOW + timedelta(minutes=minutes), config, "portal", client)


def test_numbers_start_at_one_each_day_and_tokens_are_long_and_distinct(queue_db):
    first, second = take(queue_db), take(queue_db, "job")
    tomorrow = take_ticket("job", NOW + timedelta(days=1), queue_db, "desk")
    assert (first.number, second.number, tomorrow.number) == (1, 2, 1)
    assert len({first.token, second.token, tomorrow.token}) == 3
    assert all(len(t.token) == 16 for t in (first, second, tomorrow))


def test_an_unknown_kind_is_refused_and_nothing_is_stored(queue_db):
    with pytest.raises(InvalidInput) as error:
        take(queue_db, "plumbing")
    assert error.value.field == "kind"
    assert QueueTicket.select().count() == 0


@pytest.mark.parametrize("moment, closing", [
    (datetime(2026, 11, 17, 8, 30), False),   # before opening
    (datetime(2026, 11, 22, 11, 0), False),   # Sunday
    (datetime(2026, 11, 17, 16, 55), True),   # 5 minutes before closing
])
def test_no_ticket_while_closed_or_about_to_close(queue_db, moment, closing):
    with pytest.raises(QueueClosed) as closed:
        take_ticket("forms", moment, queue_db, "portal")
    assert closed.value.closing is closing
    assert closed.value.next_opening is not None and closed.value.next_opening > moment
    assert QueueTicket.select().count() == 0


def test_next_calls_the_lowest_waiting_number_and_none_when_empty(queue_db):
    tickets = [take(queue_db, minutes=i) for i in range(3)]
    called = call_next(NOW + timedelta(minutes=10), counter=2)
    assert (called.id, called.state, called.counter) == (tickets[0].id, "called", 2)
    assert called.waited_seconds == 600
    assert call_next(NOW).id == tickets[1].id
    assert call_next(NOW).id == tickets[2].id
    assert call_next(NOW) is None


def test_serving_creates_one_queue_visit_in_the_same_step(queue_db):
    ticket = take(queue_db, "job")
    call_next(NOW + timedelta(minutes=5))
    served = mark_served(ticket.id, NOW + timedelta(minutes=20), "job_search")
    visit = Visit.get_by_id(served.visit_id)
    assert (served.state, visit.source, visit.purpose, visit.used_mediator) == ("served", "queue", "job_search", True)
    with pytest.raises(InvalidInput):
        mark_served(ticket.id, NOW, "job_search")  # served twice: refused
    assert Visit.select().count() == 1


def test_serving_can_attach_to_a_visit_already_logged_today(queue_db):
    earlier = log_visit("learning_ict", ["computer"], NOW)
    ticket = take(queue_db)
    served = mark_served(ticket.id, NOW, "admin_procedures", attach_to=earlier.id)
    assert served.visit_id == earlier.id
    assert Visit.select().count() == 1
    assert Visit.get_by_id(earlier.id).used_mediator


def test_a_failed_serve_changes_nothing(queue_db):
    yesterday = Visit.create(day=NOW.date() - timedelta(days=1), hour=10, purpose="job_search")
    ticket = take(queue_db)
    with pytest.raises(InvalidInput):
        mark_served(ticket.id, NOW, "job_search", attach_to=yesterday.id)
    with pytest.raises(InvalidInput):
        mark_served(ticket.id, NOW, "not_a_purpose")
    assert QueueTicket.get_by_id(ticket.id).state == "waiting"
    assert QueueTicket.get_by_id(ticket.id).visit_id is None
    assert Visit.select().count() == 1


def test_absent_recall_and_put_back(queue_db):
    first, second = take(queue_db), take(queue_db)
    call_next(NOW)
    assert mark_absent(first.id, NOW).state == "absent"
    assert put_back(first.id, NOW).state == "waiting"
    assert call_next(NOW).id == first.id  # back at its own number's place
    again = recall(first.id, NOW + timedelta(minutes=3))
    assert again.called_at == NOW + timedelta(minutes=3)
    assert [t.id for t in last_called(NOW.date())] == [first.id]
    with pytest.raises(InvalidInput):
        put_back(second.id, NOW)  # waiting already
    with pytest.raises(NotFound):
        mark_absent(999, NOW)


def test_a_ticket_of_another_day_cannot_be_changed_today(queue_db):
    ticket = take_ticket("forms", NOW - timedelta(days=1), queue_db, "desk")
    with pytest.raises(NotFound):
        mark_served(ticket.id, NOW, "job_search")
    with pytest.raises(NotFound):
        ticket_by_token(ticket.token, NOW.date())


def test_the_visitor_cancels_only_with_the_token(queue_db):
    ticket = take(queue_db)
    with pytest.raises(NotFound):
        cancel_ticket("x" * 16, NOW)
    with pytest.raises(NotFound):
        cancel_ticket(str(ticket.number), NOW)
    assert cancel_ticket(ticket.token, NOW).state == "cancelled"
    assert call_next(NOW) is None


def test_place_and_wait_use_the_default_then_todays_service_times(queue_db):
    tickets = [take(queue_db, minutes=i) for i in range(4)]
    place = place_of(tickets[3], NOW, queue_db)
    assert (place.ahead, place.minutes) == (3, 30)  # 3 × 10 default minutes, one desk
    call_next(NOW)
    mark_served(tickets[0].id, NOW + timedelta(minutes=4), "admin_procedures")
    place = place_of(tickets[3], NOW, queue_db)
    assert (place.ahead, place.minutes) == (2, 10)  # 2 × 4 minutes, rounded up to 5


def test_one_client_is_limited_per_hour_and_others_are_not(queue_db):
    config = QueueConfig(client_tickets_per_hour=2)
    take(config, client="a"), take(config, client="a")
    with pytest.raises(TooManyTickets):
        take(config, client="a")
    assert take(config, client="b").number == 3
    assert take(config, minutes=61, client="a").number == 4  # an hour later
    assert take(config).number == 5  # the desk and kiosks are not limited


def test_a_full_queue_takes_no_more_tickets(queue_db):
    config = QueueConfig(max_waiting=2)
    take(config), take(config)
    with pytest.raises(TooManyTickets):
        take(config)
    assert QueueTicket.select().count() == 2


def test_figures_count_tickets_served_absent_and_the_minutes_waited(queue_db):
    a, b, c, _d = (take(queue_db, minutes=i) for i in range(4))
    call_next(NOW + timedelta(minutes=12))  # a waited 12 minutes
    mark_served(a.id, NOW + timedelta(minutes=20), "job_search")
    call_next(NOW + timedelta(minutes=20))  # b waited 19 minutes
    mark_served(b.id, NOW + timedelta(minutes=25), "job_search")
    call_next(NOW + timedelta(minutes=25))
    mark_absent(c.id, NOW + timedelta(minutes=30))
    out = figures(Period.parse("2026-W47"))
    assert out == {"queue.tickets": 4, "queue.served": 2, "queue.absent": 1, "queue.wait_minutes": 31}
    assert figures(Period.parse("2026-W48")) == {}  # no ticket: absent, not 0
    collected = collect_figures(Period.parse("2026-11"))
    assert collected["queue.served"] == 2 and collected["visits.source.queue"] == 2
    assert set(out) <= SCHEMAS[CURRENT_SCHEMA]


def test_old_tickets_are_purged_and_client_digests_blanked_after_the_day(queue_db):
    old = take_ticket("forms", NOW - timedelta(days=70), queue_db, "portal", "digest-old")
    recent = take_ticket("forms", NOW - timedelta(days=1), queue_db, "portal", "digest-recent")
    today = take(queue_db, client="digest-today")
    assert purge_tickets(NOW.date(), 62) == 1
    assert QueueTicket.get_or_none(QueueTicket.id == old.id) is None
    assert QueueTicket.get_by_id(recent.id).client_digest == ""
    assert QueueTicket.get_by_id(today.id).client_digest == "digest-today"
    assert [t.id for t in tickets_on(NOW.date())] == [today.id]


def test_the_retention_purge_runs_through_the_registry(queue_db):
    from appliance.config import RetentionConfig
    from appliance.members import purge_expired

    take_ticket("forms", NOW - timedelta(days=99), queue_db, "desk")
    assert purge_expired(NOW.date(), RetentionConfig())["helpqueue"] == 1


@pytest.mark.parametrize("value, ok", [
    ({"forms": "admin_procedures", "repair": "learning_ict"}, True),
    ("forms=admin_procedures,job=job_search", True),
    ({"forms": "paperwork"}, False),
    ({"Forms!": "admin_procedures"}, False),
    ({}, False),
])
def test_help_kinds_map_to_known_purpose_codes(tmp_path, value, ok):
    from appliance.config import ConfigError, load_config

    if ok:
        kinds = load_config(tmp_path, {"queue": {"help_kinds": value}}, environ={}).queue.help_kinds
        assert set(kinds) >= {"forms"}
    else:
        with pytest.raises(ConfigError) as error:
            load_config(tmp_path, {"queue": {"help_kinds": value}}, environ={})
        assert str(error.value).startswith("queue.help_kinds:") and "\n" not in str(error.value)
