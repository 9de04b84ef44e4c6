"""The walk-in help queue: numbered tickets, calling the next one, serving it as a visit.

A ticket holds no name: the number is called out. Numbers restart each day. The visitor
keeps their ticket page through a random token (the number alone would let anybody
cancel somebody else's ticket). Every change of state that must not race (drawing a
number, calling the next ticket) runs under SQLite's write lock (BEGIN IMMEDIATE), so two
mediators pressing "next" at the same moment get two different tickets.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peewee import fn

from appliance.config import QueueConfig
from appliance.db import database
from appliance.desk.schedule import Calendar, mediators_on_duty, open_state
from appliance.desk.visits import PURPOSES, arrival_visit, check_services
from appliance.errors import N_, InvalidInput, NotFound
from appliance.models import QueueTicket

ORIGINS = ("portal", "kiosk", "desk", "api")
STATES = ("waiting", "called", "served", "absent", "cancelled")
LIVE = ("waiting", "called")
TOKEN_LENGTH = 16
SERVICE_SAMPLE = 5  # served tickets the estimate averages over
FALLBACK_PURPOSE = "leisure_culture_info"


class QueueClosed(Exception):
    """No ticket now: the EPN is closed or about to close."""

    def __init__(self, next_opening: datetime | None, closing: bool = False) -> None:
        super().__init__("the help queue is closed")
        self.next_opening = next_opening
        self.closing = closing


class TooManyTickets(Exception):
    """This client took its hourly share of tickets, or the queue is full."""


@dataclass(frozen=True)
class Place:
    """Where a waiting ticket stands: how many before it, and the estimated wait."""

    ahead: int
    minutes: int


# --- Taking a ticket ------------------------------------------------------------------


def client_digest(address: str, secret: str) -> str:
    """A keyed hash of the client's address: enough to count its tickets, not to find it."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]


def check_kind(kind: str, config: QueueConfig) -> str:
    if kind not in config.help_kinds:
        raise InvalidInput("kind", N_("Choose the kind of help you need."))
    return kind


def check_open(now: datetime, config: QueueConfig) -> None:
    """QueueClosed unless the EPN is open and not about to close."""
    state = open_state(now)
    if not state.open_now:
        raise QueueClosed(state.next_opening)
    closes = datetime.combine(now.date(), state.until) if state.until else None
    if closes and closes - now <= timedelta(minutes=config.stop_minutes_before_closing):
        raise QueueClosed(open_state(closes).next_opening, closing=True)


def take_ticket(
    kind: str, now: datetime, config: QueueConfig, origin: str, client: str = ""
) -> QueueTicket:
    """Draw today's next number for `kind`; `client` (a digest) is limited per hour."""
    check_kind(kind, config)
    if origin not in ORIGINS:
        raise InvalidInput("origin", N_("Unknown origin of the ticket."))
    check_open(now, config)
    with database.atomic("IMMEDIATE"):
        today = QueueTicket.day == now.date()
        if client and (
            QueueTicket.select()
            .where(today & (QueueTicket.client_digest == client)
                   & (QueueTicket.taken_at > now - timedelta(hours=1)))
            .count()
            >= config.client_tickets_per_hour
        ):
            raise TooManyTickets()
        if QueueTicket.select().where(today & (QueueTicket.state == "waiting")).count() >= config.max_waiting:
            raise TooManyTickets()
        last = QueueTicket.select(fn.MAX(QueueTicket.number)).where(today).scalar() or 0
        return QueueTicket.create(
            day=now.date(), number=last + 1, kind=kind, token=secrets.token_urlsafe(12),
            origin=origin, taken_at=now, client_digest=client,
        )


def ticket_by_token(token: str, day: date) -> QueueTicket:
    """The ticket of this token, if it was taken on `day` (a ticket lives one day)."""
    if len(token) != TOKEN_LENGTH:
        raise NotFound(token)
    ticket = QueueTicket.get_or_none((QueueTicket.token == token) & (QueueTicket.day == day))
    if ticket is None:
        raise NotFound(token)
    return ticket


def cancel_ticket(token: str, now: datetime) -> QueueTicket:
    """The visitor gives up their place (only while waiting or called)."""
    with database.atomic("IMMEDIATE"):
        ticket = ticket_by_token(token, now.date())
        if ticket.state in LIVE:
            ticket.state, ticket.closed_at = "cancelled", now
            ticket.save()
    return ticket


# --- Where a ticket stands ------------------------------------------------------------


def service_minutes(day: date, default: int) -> float:
    """Mean minutes from call to served over the day's last few served tickets."""
    rows = (
        QueueTicket.select(QueueTicket.called_at, QueueTicket.closed_at)
        .where((QueueTicket.day == day) & (QueueTicket.state == "served")
               & QueueTicket.called_at.is_null(False))
        .order_by(QueueTicket.closed_at.desc())
        .limit(SERVICE_SAMPLE)
        .tuples()
    )
    spans = [(closed - called).total_seconds() / 60 for called, closed in rows]
    if not spans:
        return float(default)
    return min(max(sum(spans) / len(spans), 1.0), 120.0)


def place_of(ticket: QueueTicket, now: datetime, config: QueueConfig) -> Place:
    """Tickets waiting before this one, and their time: ahead × mean service minutes,
    shared by the mediators on duty (at least one), rounded up to 5 minutes."""
    ahead = (
        QueueTicket.select()
        .where((QueueTicket.day == ticket.day) & (QueueTicket.state == "waiting")
               & (QueueTicket.number < ticket.number))
        .count()
    )
    desks = max(1, len(mediators_on_duty(now, Calendar.load())))
    minutes = ahead * service_minutes(ticket.day, config.default_service_minutes) / desks
    return Place(ahead, int(math.ceil(minutes / 5) * 5))


def tickets_on(day: date, states: tuple[str, ...] = STATES) -> list[QueueTicket]:
    """The day's tickets in these states, by number."""
    return list(
        QueueTicket.select()
        .where((QueueTicket.day == day) & QueueTicket.state.in_(states))
        .order_by(QueueTicket.number)
    )


def last_called(day: date, limit: int = 6) -> list[QueueTicket]:
    """The numbers called most recently (still being helped or just done), latest first."""
    return list(
        QueueTicket.select()
        .where((QueueTicket.day == day) & QueueTicket.called_at.is_null(False)
               & QueueTicket.state.in_(("called", "served")))
        .order_by(QueueTicket.called_at.desc())
        .limit(limit)
    )


def waiting_count(day: date) -> int:
    return QueueTicket.select().where((QueueTicket.day == day) & (QueueTicket.state == "waiting")).count()


# --- The desk: call, serve, absent, recall, put back ----------------------------------


def _today(ticket_id: int, day: date) -> QueueTicket:
    ticket = QueueTicket.get_or_none((QueueTicket.id == ticket_id) & (QueueTicket.day == day))
    if ticket is None:
        raise NotFound(ticket_id)
    return ticket


def _check_state(ticket: QueueTicket, allowed: tuple[str, ...]) -> None:
    if ticket.state not in allowed:
        raise InvalidInput("ticket", N_("Ticket %(number)s cannot do that now."), number=ticket.number)


def _call(ticket: QueueTicket, now: datetime, counter: int | None) -> QueueTicket:
    if ticket.waited_seconds is None:
        ticket.waited_seconds = max(0, int((now - ticket.taken_at).total_seconds()))
    ticket.state, ticket.called_at, ticket.closed_at = "called", now, None
    ticket.counter = counter
    ticket.save()
    return ticket


def check_counter(counter: int | None, config: QueueConfig) -> int | None:
    if counter is not None and not 1 <= counter <= config.counters:
        raise InvalidInput("counter", N_("Choose a desk from the list."))
    return counter


def call_next(now: datetime, counter: int | None = None) -> QueueTicket | None:
    """Call the lowest waiting number of today; None when nobody waits.

    Under the write lock: two mediators calling at once get two different tickets."""
    with database.atomic("IMMEDIATE"):
        ticket = (
            QueueTicket.select()
            .where((QueueTicket.day == now.date()) & (QueueTicket.state == "waiting"))
            .order_by(QueueTicket.number)
            .first()
        )
        return _call(ticket, now, counter) if ticket else None


def recall(ticket_id: int, now: datetime, counter: int | None = None) -> QueueTicket:
    """Call this ticket (again): it shows at the top of the screen once more."""
    with database.atomic("IMMEDIATE"):
        ticket = _today(ticket_id, now.date())
        _check_state(ticket, ("waiting", "called", "absent"))
        return _call(ticket, now, counter if counter is not None else ticket.counter)


def put_back(ticket_id: int, now: datetime) -> QueueTicket:
    """Back to waiting, at its own number's place (called by mistake, or came back)."""
    with database.atomic("IMMEDIATE"):
        ticket = _today(ticket_id, now.date())
        _check_state(ticket, ("called", "absent"))
        ticket.state, ticket.closed_at, ticket.counter = "waiting", None, None
        ticket.save()
    return ticket


def mark_absent(ticket_id: int, now: datetime) -> QueueTicket:
    with database.atomic("IMMEDIATE"):
        ticket = _today(ticket_id, now.date())
        _check_state(ticket, LIVE)
        ticket.state, ticket.closed_at = "absent", now
        ticket.save()
    return ticket


def purpose_of(ticket: QueueTicket, config: QueueConfig) -> str:
    """The visit purpose the ticket's kind counts as (a kind since removed: the fallback)."""
    return config.help_kinds.get(ticket.kind, FALLBACK_PURPOSE)


def mark_served(
    ticket_id: int,
    now: datetime,
    purpose: str,
    attach_to: int | None = None,
    services: tuple[str, ...] | list[str] = ("mediator",),
) -> QueueTicket:
    """The person was helped: the ticket is closed and the visit made (or today's visit
    `attach_to` gains the services: a person is counted once), in one transaction."""
    if purpose not in PURPOSES:
        raise InvalidInput("purpose", N_("Choose why the person came."))
    check_services(services)
    with database.atomic("IMMEDIATE"):
        ticket = _today(ticket_id, now.date())
        _check_state(ticket, LIVE)
        if ticket.waited_seconds is None:
            ticket.waited_seconds = max(0, int((now - ticket.taken_at).total_seconds()))
            ticket.called_at = now
        ticket.visit = arrival_visit(purpose, services, now, "queue", attach_to)
        ticket.state, ticket.closed_at = "served", now
        ticket.save()
    return ticket


# --- Retention ------------------------------------------------------------------------


def purge_tickets(today: date, days: int) -> int:
    """Delete the tickets older than `days`; blank the client digests of past days."""
    QueueTicket.update(client_digest="").where(
        (QueueTicket.day < today) & (QueueTicket.client_digest != "")
    ).execute()
    return QueueTicket.delete().where(QueueTicket.day < today - timedelta(days=days)).execute()
